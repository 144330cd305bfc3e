// The editor pages' desk: one authenticated socket per page (ws/editor/events/<slug>/,
// liveblog/live/desk_consumer.py) that every other part of the page listens to through
// `window` "desk:message" events (detail: the frame), never a socket of its own. It also
// says what this person is doing (typing a new entry, editing one, idle) and shows who else
// is here, what they are doing, and how many readers are connected now.
const root = document.querySelector("[data-presence]");

const IDLE_AFTER_MS = 8000; // no keystroke for this long: no longer typing
const SEND_GAP_MS = 1000; // at most one presence frame a second (the server limits too)
const RETRY_MS = [1000, 2000, 5000, 10000, 30000];
// Closed for good: retrying would be refused again (desk_consumer.py's close codes).
const FINAL = {
  4401: "Signed out: sign in again to see who is here.",
  4403: "You no longer have access to this event's desk.",
  4404: "This event no longer exists.",
};

function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((word) => [...word][0] ?? "").join("").toUpperCase() || "?";
}

// "the 10:31 entry", as the published list shows its time; "an entry" when it is not listed.
function entryName(post) {
  const when = document.getElementById(`post-${post}`)?.querySelector("time")?.textContent.trim();
  return when ? `the ${when} entry` : "an entry";
}

function doingText(person) {
  if (person.doing === "typing") return "typing…";
  if (person.doing === "editing") return `editing ${entryName(person.post)}`;
  return "";
}

class Desk {
  constructor(element) {
    this.root = element;
    this.me = Number(element.dataset.me);
    this.socket = null;
    this.failures = 0;
    this.wanted = { doing: "idle", post: null };
    this.sent = null;
    this.sentAt = 0;
    this.flushTimer = null;
    this.known = null; // user ids on the last list (null: none received yet)
    this.people = [];
    this.numbers = new Intl.NumberFormat(document.documentElement.lang || "en");
  }

  start() {
    window.addEventListener("desk:message", (event) => this.show(event.detail));
    this.connect();
  }

  connect() {
    const url = new URL(this.root.dataset.ws, window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      this.socket = socket;
      this.failures = 0;
      this.sent = null; // a new connection knows nothing of what this page said
      this.root.dataset.connected = "true";
      this.note("");
      this.flush();
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame.type === "string") {
        window.dispatchEvent(new CustomEvent("desk:message", { detail: frame }));
      }
    });
    socket.addEventListener("close", (event) => {
      this.socket = null;
      this.root.dataset.connected = "false";
      if (FINAL[event.code]) {
        this.note(FINAL[event.code]);
        this.people = [];
        this.render([]);
        return;
      }
      const wait = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
      this.failures += 1;
      if (this.failures > 2) this.note("Reconnecting…");
      // Jitter: a restarted server is not met by every page at the same instant.
      setTimeout(() => this.connect(), wait * (0.75 + Math.random() * 0.5));
    });
  }

  // --- what I am doing -------------------------------------------------------------------

  say(doing, post = null) {
    this.wanted = { doing, post };
    this.flush();
  }

  flush() {
    clearTimeout(this.flushTimer);
    const { socket, wanted, sent } = this;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (sent && sent.doing === wanted.doing && sent.post === wanted.post) return;
    const wait = this.sentAt + SEND_GAP_MS - Date.now();
    if (wait > 0) {
      this.flushTimer = setTimeout(() => this.flush(), wait);
      return;
    }
    socket.send(JSON.stringify({ type: "presence", doing: wanted.doing, post: wanted.post }));
    this.sent = { ...wanted };
    this.sentAt = Date.now();
  }

  // --- what the desk says ----------------------------------------------------------------

  show(frame) {
    if (frame.type === "desk.presence" && Array.isArray(frame.people)) {
      this.announce(frame.people);
      this.people = frame.people;
      this.render(frame.people);
    } else if (frame.type === "desk.readers" && Number.isInteger(frame.count)) {
      const count = this.numbers.format(frame.count);
      const text = `${count} ${frame.count === 1 ? "reader" : "readers"} now`;
      this.root.querySelector("[data-presence-readers]").textContent = text;
    }
  }

  render(people) {
    const list = this.root.querySelector("[data-presence-people]");
    // Others first, then me.
    const ordered = [...people.filter((p) => p.user_id !== this.me),
      ...people.filter((p) => p.user_id === this.me)];
    list.replaceChildren(...ordered.map((person) => this.personItem(person)));
    this.root.hidden = false;
    this.markEntries();
  }

  personItem(person) {
    const item = document.createElement("li");
    item.className = "presence__person";
    item.dataset.user = String(person.user_id);
    item.dataset.doing = person.doing;
    const avatar = document.createElement("span");
    avatar.className = `presence__avatar presence__avatar--${person.user_id % 6}`;
    avatar.setAttribute("aria-hidden", "true");
    avatar.textContent = initials(person.name);
    const name = document.createElement("span");
    name.className = "presence__name";
    name.textContent = person.user_id === this.me ? `${person.name} (you)` : person.name;
    const role = document.createElement("span");
    role.className = "presence__role";
    role.textContent = person.role;
    item.append(avatar, name, " ", role);
    const doing = doingText(person);
    if (doing) {
      item.classList.add("presence__person--busy");
      const hint = document.createElement("span");
      hint.className = "presence__doing";
      hint.textContent = doing;
      item.append(" ", hint);
    }
    return item;
  }

  // Told once who came and who left; not every keystroke of theirs.
  announce(people) {
    const now = new Map(people.map((p) => [p.user_id, p.name]));
    const before = this.known;
    this.known = new Set(now.keys());
    if (before === null) return;
    const came = [...now].filter(([id]) => !before.has(id) && id !== this.me).map(([, n]) => n);
    const left = this.people.filter((p) => !now.has(p.user_id) && p.user_id !== this.me)
      .map((p) => p.name);
    const parts = [];
    if (came.length) parts.push(`${came.join(", ")} joined.`);
    if (left.length) parts.push(`${left.join(", ")} left.`);
    if (parts.length) this.root.querySelector("[data-presence-announce]").textContent = parts.join(" ");
  }

  note(text) {
    const note = this.root.querySelector("[data-presence-note]");
    note.textContent = text;
    note.hidden = !text;
    if (text) this.root.hidden = false;
  }

  // Beside each entry of the published list: who else is editing it.
  markEntries() {
    const editing = new Map();
    for (const person of this.people) {
      if (person.doing !== "editing" || person.user_id === this.me) continue;
      editing.set(person.post, [...(editing.get(person.post) ?? []), person.name]);
    }
    for (const badge of document.querySelectorAll("[data-presence-badge]")) {
      const entry = badge.closest("[data-id]");
      if (!editing.has(Number(entry?.dataset.id))) badge.remove();
    }
    for (const [post, names] of editing) {
      const entry = document.querySelector(`[data-live] .entry[data-id="${post}"]`);
      if (!entry) continue;
      const text = `${names.join(" and ")} ${names.length > 1 ? "are" : "is"} editing this entry`;
      let badge = entry.querySelector("[data-presence-badge]");
      if (badge?.textContent === text) continue;
      if (!badge) {
        badge = document.createElement("p");
        badge.className = "entry__presence";
        badge.dataset.presenceBadge = "";
        entry.prepend(badge);
      }
      badge.textContent = text;
    }
  }
}

// Typing in the new-entry form is "typing", until IDLE_AFTER_MS without a keystroke or the
// form is sent; an entry's edit page is "editing" it for as long as it is open.
function follow(desk) {
  const editing = Number(desk.root.dataset.post) || null;
  if (editing) {
    desk.say("editing", editing);
    return;
  }
  let idle = null;
  const rest = () => {
    clearTimeout(idle);
    desk.say("idle");
  };
  for (const form of document.querySelectorAll("[data-post-form][data-in-place]")) {
    form.addEventListener("input", () => {
      desk.say("typing");
      clearTimeout(idle);
      idle = setTimeout(rest, IDLE_AFTER_MS);
    });
    form.addEventListener("post-form:cleared", rest);
  }
}

if (root) {
  const desk = new Desk(root);
  desk.start();
  follow(desk);
  // Entries the live list adds or replaces get their "is editing" line back.
  const stream = document.querySelector("[data-live]");
  if (stream) {
    let queued = false;
    new MutationObserver(() => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        desk.markEntries();
      });
    }).observe(stream, { childList: true, subtree: true });
  }
}
