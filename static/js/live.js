// The live connection of a reader or editor page (SPEC §7).
// The page is server-rendered at seq N; this keeps it in step: it connects with ?since=N,
// applies each change exactly once in seq order, fetches any gap from /changes/, and
// reconnects with exponential backoff and full jitter.

const MAX_BACKOFF_MS = 30000;
const BASE_BACKOFF_MS = 500;

export class LiveStream {
  constructor(root, { decorate = () => {}, onChange = () => {} } = {}) {
    this.root = root;
    this.stream = root.querySelector("[data-stream]");
    this.pinned = root.querySelector("[data-pinned]");
    this.notice = root.querySelector("[data-notice]");
    this.status = root.querySelector("[data-connection]");
    this.order = root.dataset.order;
    this.lastSeq = Number(root.dataset.seq || 0);
    this.decorate = decorate;
    this.onChange = onChange;
    this.attempt = 0;
    this.pending = [];
    this.fetching = null;
    this.stopped = false;
  }

  start() {
    this.connect();
    const older = this.root.querySelector("[data-older]");
    if (older) older.addEventListener("click", (e) => this.loadOlder(e));
    for (const el of this.root.querySelectorAll(".entry")) this.decorate(el);
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}${this.root.dataset.ws}?since=${this.lastSeq}`;
  }

  connect() {
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.addEventListener("message", (e) => this.receive(JSON.parse(e.data)));
    ws.addEventListener("close", (e) => this.closed(e));
  }

  closed(event) {
    if (this.stopped || event.code === 4404) return;
    this.setStatus("Reconnecting…");
    const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), Math.random() * ceiling);
  }

  setStatus(text) {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.hidden = !text;
  }

  receive(message) {
    if (message.type === "hello") {
      this.attempt = 0;
      this.setStatus("");
      this.root.dataset.connected = "true";
      return;
    }
    if (message.type === "reset") {
      location.reload();
      return;
    }
    this.accept(message);
  }

  accept(message) {
    if (message.seq <= this.lastSeq) return;
    if (message.seq > this.lastSeq + 1 || this.fetching) {
      this.pending.push(message);
      this.fillGap();
      return;
    }
    this.apply(message);
  }

  async fillGap() {
    if (this.fetching) return;
    this.fetching = true;
    try {
      for (;;) {
        const response = await fetch(`${this.root.dataset.changes}?since=${this.lastSeq}`, {
          headers: { Accept: "application/json" },
        });
        if (!response.ok) throw new Error(`changes: HTTP ${response.status}`);
        const data = await response.json();
        for (const change of data.changes) if (change.seq === this.lastSeq + 1) this.apply(change);
        if (!data.changes.length || this.lastSeq >= data.last_seq) break;
      }
    } catch (error) {
      console.warn("live: could not fetch missed changes", error);
      setTimeout(() => { this.fetching = false; this.fillGap(); }, 2000);
      return;
    }
    this.fetching = false;
    const queued = this.pending.sort((a, b) => a.seq - b.seq);
    this.pending = [];
    for (const message of queued) this.accept(message);
  }

  apply(message) {
    this.lastSeq = message.seq;
    this.root.dataset.seq = String(message.seq);
    if (message.type === "post.deleted") this.remove(message.post.id);
    else if (message.type === "post.created" || message.type === "post.updated") this.place(message);
    else if (message.type === "event.updated") this.updateEvent(message);
    this.onChange(message);
    // Page scripts (relative times, share buttons…) follow along without touching this one.
    this.root.dispatchEvent(new CustomEvent("live:change", { detail: message, bubbles: true }));
  }

  fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  remove(id) {
    document.getElementById(`post-${id}`)?.remove();
    this.updateKeyEvents({ id, is_key_event: false });
  }

  // The key-events list mirrors the entries marked as key events, newest first.
  updateKeyEvents(post, entry = null) {
    const list = document.querySelector("[data-key-events]");
    if (!list) return;
    list.querySelector(`[data-id="${post.id}"]`)?.remove();
    if (post.is_key_event && entry) {
      const item = document.createElement("li");
      item.dataset.id = String(post.id);
      item.dataset.sort = entry.dataset.sort;
      const link = document.createElement("a");
      link.href = `#${entry.id}`;
      const words = entry.querySelector(".entry__body")?.textContent.trim().split(/\s+/) || [];
      link.textContent = post.headline || words.slice(0, 12).join(" ");
      item.append(link);
      const later = [...list.children].find((li) => Number(li.dataset.sort) < Number(item.dataset.sort));
      list.insertBefore(item, later || null);
    }
    const box = list.closest("[data-key-events-box]");
    if (box) box.hidden = list.children.length === 0;
  }

  place(message) {
    const entry = this.fragment(message.html);
    this.updateKeyEvents(message.post, entry);
    this.decorate(entry);
    const existing = document.getElementById(entry.id);
    if (existing && existing.dataset.sort === entry.dataset.sort
        && existing.dataset.pinned === entry.dataset.pinned) {
      existing.replaceWith(entry);
      return;
    }
    existing?.remove();
    if (entry.dataset.pinned === "true" && this.pinned) {
      this.pinned.replaceChildren(entry);
    } else {
      this.insertInOrder(entry, message.type === "post.created");
    }
  }

  // Entries are ordered by (published_at, id): data-sort then data-id.
  before(a, b) {
    const key = (el) => [Number(el.dataset.sort), Number(el.dataset.id)];
    const [sa, ia] = key(a);
    const [sb, ib] = key(b);
    const newer = sa > sb || (sa === sb && ia > ib);
    return this.order === "oldest" ? !newer : newer;
  }

  insertInOrder(entry, isNew) {
    this.stream.querySelector("[data-empty]")?.remove();
    const entries = [...this.stream.querySelectorAll(":scope > .entry")];
    const next = entries.find((el) => this.before(entry, el));
    const more = Boolean(this.root.querySelector("[data-older]"));
    // Past the last loaded entry while more pages exist: it arrives with "load older".
    if (!next && more && entries.length) return;
    this.stream.insertBefore(entry, next || null);
    if (isNew && this.notice) this.notice.textContent = "New entry published.";
  }

  updateEvent(message) {
    const header = this.root.ownerDocument.querySelector("[data-event-header]");
    if (header && message.html) header.innerHTML = message.html;
  }

  async loadOlder(event) {
    event.preventDefault();
    const link = event.currentTarget;
    const after = new URL(link.href, location.href).searchParams.get("after");
    const url = `${this.root.dataset.entries}?order=${this.order}&after=${encodeURIComponent(after)}`;
    link.setAttribute("aria-busy", "true");
    const added = [];
    try {
      const response = await fetch(url, { headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error(`entries: HTTP ${response.status}`);
      const page = this.fragment(await response.text());
      for (const entry of [...page.querySelectorAll(".entry")]) {
        if (!document.getElementById(entry.id)) {
          this.decorate(entry);
          this.stream.appendChild(entry);
          added.push(entry);
        }
      }
      this.root.dispatchEvent(new CustomEvent("live:older", { detail: added, bubbles: true }));
      if (page.dataset.next) {
        link.href = `?order=${this.order}&after=${page.dataset.next}`;
      } else {
        link.closest("p")?.remove();
      }
    } catch (error) {
      console.warn("live: could not load older entries", error);
    } finally {
      link.removeAttribute("aria-busy");
    }
  }
}
