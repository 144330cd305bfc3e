// The approval queue on the composer page (templates/editor/_queue.html). Without this
// script its forms post and the page comes back with a message; here they are sent in
// place, so that nothing typed in the composer is lost, and the panel is read again
// (GET …/queue/) whenever the desk says a submission arrived, changed or left: desk.js
// dispatches every frame of the editor page's socket on window as "desk:message". The
// server stays the authority: the panel is always its rendering, never patched here.

const PANEL = "[data-queue]";

function csrfToken(root) {
  return root.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "";
}

function announce(panel, text, { failed = false } = {}) {
  const status = panel.querySelector("[data-queue-status]");
  if (!status) return;
  status.classList.toggle("queue__status--failed", failed);
  status.textContent = "";
  // Emptied first, so that the same sentence twice is announced twice.
  requestAnimationFrame(() => { status.textContent = text; });
}

// What the editor is in the middle of (a note typed, a Send back opened, the focus) stays
// as it was when another submission arrives and the panel is rendered again.
function typed(panel) {
  const notes = [...panel.querySelectorAll("textarea[id]")].map((area) => ({
    id: area.id,
    value: area.value,
    open: Boolean(area.closest("details")?.open),
  }));
  const focused = panel.contains(document.activeElement) ? document.activeElement?.id : "";
  return { notes, focused };
}

function restore(panel, { notes, focused }) {
  for (const { id, value, open } of notes) {
    const area = panel.querySelector(`#${CSS.escape(id)}`);
    if (!area) continue; // that submission was decided meanwhile
    area.value = value;
    const details = area.closest("details");
    if (details) details.open = open;
  }
  if (focused) panel.querySelector(`#${CSS.escape(focused)}`)?.focus();
}

// The panel's contents are replaced, the panel and its live region stay: a region that is
// itself replaced is not reliably announced.
function swap(html, { keep = true } = {}) {
  const panel = document.querySelector(PANEL);
  if (!panel) return null;
  const template = document.createElement("template");
  template.innerHTML = html; // the server's rendering, entry bodies sanitised
  const next = template.content.querySelector(PANEL);
  if (!next) {
    panel.hidden = true;
    return null;
  }
  const state = keep ? typed(panel) : { notes: [], focused: "" };
  const status = panel.querySelector("[data-queue-status]");
  panel.className = next.className;
  panel.hidden = false;
  panel.replaceChildren(...next.childNodes);
  if (status) panel.querySelector("[data-queue-status]")?.replaceWith(status);
  restore(panel, state);
  return panel;
}

let reading = null;
let readAgain = false;

async function refresh() {
  const panel = document.querySelector(PANEL);
  if (!panel) return;
  // One request at a time; a nudge meanwhile asks once more after it.
  if (reading) {
    readAgain = true;
    return;
  }
  reading = fetch(panel.dataset.queueUrl, {
    credentials: "same-origin",
    headers: { Accept: "text/html" },
  });
  try {
    const response = await reading;
    if (response.ok && !response.redirected) swap(await response.text());
  } catch {
    // Offline: the next nudge, or a reload, reads it again.
  } finally {
    reading = null;
    if (readAgain) {
      readAgain = false;
      refresh();
    }
  }
}

async function decide(form, submitter) {
  const panel = form.closest(PANEL);
  const buttons = form.querySelectorAll("button");
  for (const button of buttons) button.disabled = true;
  try {
    const response = await fetch(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form, submitter),
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken(form) },
    });
    const isJson = (response.headers.get("Content-Type") || "").startsWith("application/json");
    if (response.redirected || !isJson) {
      const text = response.redirected
        ? "Your session has ended: sign in again, then decide again. Nothing was changed."
        : `Not done (HTTP ${response.status}). Nothing was changed.`;
      announce(panel, text, { failed: true });
      return;
    }
    const answer = await response.json();
    const updated = answer.html ? swap(answer.html, { keep: !answer.ok }) : panel;
    const target = updated ?? panel;
    announce(target, answer.message || answer.detail || "", { failed: !answer.ok });
    target.querySelector("h2")?.focus();
  } catch {
    announce(panel, "Not sent: no connection. Nothing was changed; try again.", { failed: true });
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("[data-queue-form]")) return;
  event.preventDefault();
  decide(form, event.submitter);
});

window.addEventListener("desk:message", (event) => {
  if (event.detail?.what === "submission") refresh();
});

// The composer has just submitted one of mine: my list shows it at once.
document.addEventListener("post-form:saved", (event) => {
  if (event.detail?.status === "submitted") refresh();
});
