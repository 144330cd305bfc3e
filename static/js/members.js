// The members page: as an editor types in "Username", the matching active accounts are
// offered in the field's <datalist> (the browser's own accessible list), by username and
// name; picking one fills in its username. Without JavaScript the username is typed.
const SEARCH_DELAY_MS = 250;
const MIN_CHARS = 2;

const form = document.querySelector("[data-member-search]");
const input = form?.querySelector("input[name=username]");
const list = form?.querySelector("[data-member-suggestions]");
const status = form?.querySelector("[data-member-search-status]");
let timer = null;
let inflight = null;

function option({ username, display_name: name, role }) {
  const item = document.createElement("option");
  item.value = username;
  const who = name && name !== username ? `${name} (${username})` : username;
  item.label = role ? `${who}, already ${role}` : who;
  item.textContent = item.label;
  return item;
}

async function search() {
  const query = input.value.trim();
  if (query.length < MIN_CHARS) {
    list.replaceChildren();
    status.textContent = "";
    return;
  }
  inflight?.abort();
  inflight = new AbortController();
  try {
    const url = `${form.dataset.memberSearch}?q=${encodeURIComponent(query)}`;
    const response = await fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: inflight.signal,
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { results } = await response.json();
    list.replaceChildren(...results.map(option));
    status.textContent = results.length === 1 ? "1 match." : `${results.length} matches.`;
  } catch (error) {
    if (error.name !== "AbortError") status.textContent = "Search unavailable: type the username.";
  }
}

if (input && list) {
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  });
  // A name typed before this module ran (a fast typist, a slow connection) fired its input
  // events before the listener was there: search for it now.
  if (input.value.trim()) search();
}
