// The composer's outbox: an entry whose Publish could not reach the server (no network,
// or the server answering 5xx while PostgreSQL is down) waits here, in this browser's
// localStorage, and is sent again with backoff, when the browser says it is online, and
// when the page is loaded again. It is sent with the form's token, the composer view's
// idempotency key: however many tries reach the server, one entry is created.
//
// What is kept is the form as sent (FormData entries: texts, flags, photo ids and their
// alt texts; photos themselves are uploaded beforehand). Typing while the entry waits
// updates it, so what goes out is what the form shows.

const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 15000;
// The fields shown again in the form after a reload (photos are sent, not shown).
const SHOWN = ["headline", "body", "published_at"];

const isPhoto = (name) => name === "images" || name.startsWith("image-");

export class Outbox {
  constructor(form, send) {
    this.form = form;
    this.send = send; // () => Promise<void>: one try, which calls sent() or kept() again
    const who = document.querySelector("[data-editor]")?.dataset.username ?? "";
    this.key = `liveblog:outbox:${who}:${new URL(form.getAttribute("action"), location.href).pathname}`;
    this.delay = FIRST_RETRY_MS;
    this.timer = null;
    this.restored = false;
    window.addEventListener("online", () => this.retryNow());
    form.addEventListener("input", () => this.update());
    form.addEventListener("change", () => this.update());
  }

  get entry() {
    try {
      return JSON.parse(localStorage.getItem(this.key) ?? "null");
    } catch {
      return null;
    }
  }

  set entry(value) {
    try {
      if (value) localStorage.setItem(this.key, JSON.stringify(value));
      else localStorage.removeItem(this.key);
    } catch {
      // Storage full or refused: the entry is still in the form, and retried from there.
    }
  }

  get waiting() {
    return Boolean(this.entry);
  }

  // The FormData to send: the kept entry while one waits, else the form as submitted.
  data(submitter) {
    const kept = this.entry;
    if (!kept) return new FormData(this.form, submitter);
    const data = new FormData();
    for (const [name, value] of kept.data) data.append(name, value);
    return data;
  }

  // Not sent: keep it (with the token it was sent with) and try again later.
  keep(submitter) {
    if (!this.waiting) {
      this.entry = { data: [...new FormData(this.form, submitter)], action: submitter?.value };
    }
    this.later();
  }

  // Publish or Save draft pressed while an entry waits: it goes now, as that button says.
  choose(submitter) {
    const kept = this.entry;
    if (!kept || !submitter) return;
    kept.action = submitter.value;
    this.entry = kept;
    this.update();
  }

  update() {
    const kept = this.entry;
    if (!kept) return;
    const button = this.form.querySelector(`button[name=action][value="${kept.action}"]`);
    const fresh = [...new FormData(this.form, button)];
    // After a reload the form shows no photos: the kept ones still go with the entry.
    kept.data = this.restored
      ? [...fresh.filter(([name]) => !isPhoto(name)), ...kept.data.filter(([name]) => isPhoto(name))]
      : fresh;
    this.entry = kept;
  }

  later() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.retryNow(), this.delay);
    this.delay = Math.min(this.delay * 2, LAST_RETRY_MS);
  }

  retryNow() {
    if (!this.waiting) return;
    clearTimeout(this.timer);
    this.send();
  }

  // Sent (or refused for good, with the reason shown): nothing waits any more.
  done() {
    clearTimeout(this.timer);
    this.delay = FIRST_RETRY_MS;
    this.restored = false;
    this.entry = null;
  }

  // A page loaded with an entry waiting: show it in the form again and send it.
  restore() {
    const kept = this.entry;
    if (!kept) return false;
    this.restored = true;
    const values = new Map();
    for (const [name, value] of kept.data) if (!values.has(name)) values.set(name, value);
    for (const name of [...SHOWN, "token"]) {
      const input = this.form.elements.namedItem(name);
      if (input && values.has(name)) input.value = values.get(name);
    }
    for (const box of this.form.querySelectorAll("input[type=checkbox][name]")) {
      if (!isPhoto(box.name)) box.checked = values.has(box.name);
    }
    this.form.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }
}
