// The live connection of a reader or editor page (SPEC §7).
// The page is server-rendered at seq N; this keeps it in step: it connects with ?since=N,
// applies each change exactly once in seq order, fetches any gap from /changes/, and
// reconnects with exponential backoff and full jitter. When WebSockets keep failing (a proxy
// that refuses the upgrade) it takes the same frames as Server-Sent Events, and if that
// stream fails too (a proxy that buffers whole responses) it polls /changes/, until a
// connection says hello again; it keeps trying the WebSocket meanwhile. While the reader is scrolled down the
// stream, new entries wait behind a "N new updates" button so the page does not jump.

const MAX_BACKOFF_MS = 30000;
const BASE_BACKOFF_MS = 500;
const POLL_AFTER_FAILURES = 3;
const POLL_INTERVAL_MS = 5000;
// A polling reader asks for the changes after the multiple of POLL_BUCKET at or below its
// seq: readers a few changes apart then ask the same URL, which nginx or a CDN answers from
// one origin request a second for all of them (bench/pollers.py). The answer repeats up to
// POLL_BUCKET - 1 changes the reader has; it drops them, as it drops any seq it has seen.
const POLL_BUCKET = 8;
// An event stream that has not said hello by then is held up by a buffering proxy: poll.
const STREAM_HELLO_MS = 8000;
const STREAM_FAILURES = 3; // errors before a hello, after which the stream is given up
const CLOSE_NOT_FOUND = 4404;
const CLOSE_TOO_SLOW = 4008;
const RELOAD_AFTER_MISSED = 500; // the server's replay limit: past it a fresh page is cheaper

export class LiveStream {
  constructor(root, { decorate = () => {}, onChange = () => {} } = {}) {
    this.root = root;
    this.stream = root.querySelector("[data-stream]");
    this.pinned = root.querySelector("[data-pinned]");
    this.notice = root.querySelector("[data-notice]");
    this.status = root.querySelector("[data-connection]");
    this.text = root.dataset; // translated strings: data-text-* on the live root
    this.order = root.dataset.order;
    this.lastSeq = Number(root.dataset.seq || 0);
    this.decorate = decorate;
    this.onChange = onChange;
    this.attempt = 0;
    this.failures = 0;
    this.pending = [];
    this.fetching = false;
    this.poller = null;
    this.events = null; // the EventSource, while WebSockets fail
    this.streaming = false; // it has said hello
    this.streamed = false; // a stream has said hello on this page: the way passes streams
    this.streamFailures = 0; // streams given up before any hello; at STREAM_FAILURES, no more
    this.gone = false; // the event is no more: nothing is asked again
    this.held = [];
    this.newButton = null;
    // Latest version of entries changed while not on the page (null: removed), so that a
    // "load older" page fetched around the change cannot bring back a stale copy.
    this.offPage = new Map();
    this.dayLabels = new Map();
  }

  start() {
    this.connect();
    const older = this.root.querySelector("[data-older]");
    if (older) older.addEventListener("click", (e) => this.loadOlder(e));
    for (const el of this.root.querySelectorAll(".entry")) this.decorate(el);
    window.addEventListener("scroll", () => { if (!this.scrolledAway()) this.showHeld(false); },
      { passive: true });
  }

  // --- connection ----------------------------------------------------------------------

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}${this.root.dataset.ws}?since=${this.lastSeq}`;
  }

  connect() {
    if (this.gone) return;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (error) {
      this.closed({ code: 1006 }, false);
      return;
    }
    this.ws = ws;
    let greeted = false;
    ws.addEventListener("message", (e) => {
      const message = JSON.parse(e.data);
      if (message.type === "hello") {
        greeted = true;
        this.attempt = 0;
        this.failures = 0;
        this.stopStream(); // the WebSocket is back: the stream's frames are its own again
      }
      this.receive(message, "push");
    });
    ws.addEventListener("close", (e) => this.closed(e, greeted));
  }

  closed(event, greeted) {
    // A WebSocket retry that fails while the event stream is live changes nothing for the
    // reader: the page stays connected.
    if (!this.streaming) this.root.dataset.connected = "false";
    if (event.code === CLOSE_NOT_FOUND) {
      this.stop();
      return;
    }
    this.failures = greeted ? 0 : this.failures + 1;
    if (this.failures >= POLL_AFTER_FAILURES) this.fallBack();
    else if (!this.streaming) this.setStatus(this.text.textReconnecting || "Reconnecting…");
    if (event.code === CLOSE_TOO_SLOW) {
      this.connect(); // we fell behind: catch up from `since` straight away
      return;
    }
    const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), Math.random() * ceiling); // full jitter
  }

  setStatus(text) {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.hidden = !text;
  }

  // The event is gone (a socket closed with CLOSE_NOT_FOUND, a poll answered 404): stop.
  stop() {
    this.gone = true;
    this.stopStream();
    this.stopPolling();
  }

  // WebSockets keep failing: the event stream if the page offers one, else (or if it fails
  // too) polling. Called again on every failed WebSocket attempt: a stream that runs stays;
  // while polling, the stream is tried again unless it was given up for good.
  fallBack() {
    if (this.events || this.gone) return;
    if (this.root.dataset.sse && typeof EventSource === "function" && this.streamFailures
        < STREAM_FAILURES) this.openStream();
    else this.startPolling();
  }

  openStream() {
    let events;
    try {
      events = new EventSource(`${this.root.dataset.sse}?since=${this.lastSeq}`);
    } catch (error) {
      this.streamFailures = STREAM_FAILURES;
      this.startPolling();
      return;
    }
    this.events = events;
    let greeted = false;
    let errors = 0; // since its last hello
    const giveUp = () => {
      this.stopStream();
      this.startPolling();
    };
    // Silent: a proxy that buffers whole responses. Not tried again.
    const silent = setTimeout(() => {
      if (greeted) return;
      this.streamFailures = STREAM_FAILURES;
      giveUp();
    }, STREAM_HELLO_MS);
    events.addEventListener("message", (e) => {
      const message = JSON.parse(e.data);
      if (message.type === "hello") {
        greeted = true;
        errors = 0;
        this.streaming = true;
        this.streamed = true;
        this.streamFailures = 0;
        clearTimeout(silent);
      }
      this.receive(message, "stream");
    });
    // The browser reconnects by itself (with the last id it had: the seq) unless the server
    // refused it (not a 200: the event is gone, the live pool is down, too many streams) or
    // errors keep coming before any hello. Then the page polls (a 404 there stops it all),
    // and tries the stream again at the next failed WebSocket attempt: a restarting server
    // is back in seconds. Only a stream that never said hello on this page is given up for
    // good, after STREAM_FAILURES tries: the way there refuses streams.
    events.addEventListener("error", () => {
      if (this.events !== events) return;
      this.root.dataset.connected = "false";
      this.streaming = false;
      if (!greeted) errors += 1;
      greeted = false;
      if (events.readyState === EventSource.CLOSED || errors >= STREAM_FAILURES) {
        clearTimeout(silent);
        if (!this.streamed) this.streamFailures += 1;
        giveUp();
      }
    });
  }

  stopStream() {
    if (!this.events) return;
    this.events.close();
    this.events = null;
    this.streaming = false;
  }

  startPolling() {
    if (this.poller) return;
    this.root.dataset.mode = "polling";
    this.setStatus(this.text.textPolling
      || "Live connection unavailable: checking for updates every few seconds.");
    this.poller = setInterval(() => this.fillGap(), POLL_INTERVAL_MS);
    this.fillGap();
  }

  stopPolling() {
    if (!this.poller) return;
    clearInterval(this.poller);
    this.poller = null;
  }

  receive(message, mode) {
    if (message.type === "hello") {
      this.stopPolling();
      this.setStatus("");
      this.root.dataset.mode = mode;
      this.root.dataset.connected = "true";
      return;
    }
    if (message.type === "reset") {
      location.reload();
      return;
    }
    this.accept(message);
  }

  // --- exactly once, in seq order ------------------------------------------------------

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
    let told = 0; // the last_seq of the last answer
    let first = true;
    try {
      for (;;) {
        const since =
          this.poller && first ? this.lastSeq - (this.lastSeq % POLL_BUCKET) : this.lastSeq;
        first = false;
        // The browser's own cache rules (`default`): the answer is `public, max-age=1`, shared
        // by every reader at this seq through nginx and CDNs. "no-store" would add
        // `Cache-Control: no-cache` to the request, which a CDN may take as "ask the origin".
        const response = await fetch(`${this.root.dataset.changes}?since=${since}`, {
          headers: { Accept: "application/json" },
        });
        if (response.status === 404) {
          this.stop(); // the event is gone, as a socket's CLOSE_NOT_FOUND says
          return;
        }
        if (!response.ok) throw new Error(`changes: HTTP ${response.status}`);
        const data = await response.json();
        told = data.last_seq;
        if (data.last_seq - this.lastSeq > RELOAD_AFTER_MISSED) {
          location.reload();
          return;
        }
        for (const change of data.changes) if (change.seq === this.lastSeq + 1) this.apply(change);
        if (!data.changes.length || this.lastSeq >= data.last_seq) break;
      }
    } catch (error) {
      console.warn("live: could not fetch missed changes", error);
      this.fetching = false;
      if (this.pending.length) setTimeout(() => this.fillGap(), 2000);
      return;
    }
    this.fetching = false;
    // An answer up to a second old (a shared cache keeps it that long) may not have reached
    // a change the socket has already sent: ask again in a while, not at once and again.
    const newest = Math.max(0, ...this.pending.map((m) => m.seq));
    if (newest > this.lastSeq + 1 && told < newest - 1) {
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.fillGap(), 1100);
      return;
    }
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
    this.updateDateLines();
    this.onChange(message);
    // Page scripts (relative times, share buttons…) follow along without touching this one.
    this.root.dispatchEvent(new CustomEvent("live:change", { detail: message, bubbles: true }));
  }

  // --- the page ------------------------------------------------------------------------

  fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  remove(id) {
    if (!document.getElementById(`post-${id}`)) this.rememberOffPage(`post-${id}`, null);
    document.getElementById(`post-${id}`)?.remove();
    this.held = this.held.filter((entry) => entry.id !== `post-${id}`);
    this.updateHeldButton();
    this.updateKeyEvents({ id, is_key_event: false });
  }

  place(message) {
    const entry = this.fragment(message.html);
    this.updateKeyEvents(message.post, entry);
    this.decorate(entry);
    const heldAt = this.held.findIndex((held) => held.id === entry.id);
    if (heldAt >= 0) {
      this.held[heldAt] = entry; // corrected before the reader saw it
      return;
    }
    const existing = document.getElementById(entry.id);
    if (existing && existing.dataset.sort === entry.dataset.sort
        && existing.dataset.pinned === entry.dataset.pinned) {
      existing.replaceWith(entry); // edits apply in place
      return;
    }
    existing?.remove();
    if (entry.dataset.pinned === "true" && this.pinned) {
      this.pinned.replaceChildren(entry);
    } else if (!existing && this.order !== "oldest" && this.scrolledAway()) {
      this.hold(entry);
    } else {
      this.insertInOrder(entry, !existing);
    }
  }

  // Reading further down in newest-first order: inserting above would push the text away.
  scrolledAway() {
    if (!this.stream) return false;
    return this.stream.getBoundingClientRect().top < -40;
  }

  hold(entry) {
    this.held.push(entry);
    this.updateHeldButton();
  }

  updateHeldButton() {
    const count = this.held.length;
    if (!this.newButton && count) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button button--primary live__new";
      button.dataset.newUpdates = "";
      Object.assign(button.style, { position: "sticky", top: "0.5rem", zIndex: "5", margin: "0 auto 1rem" });
      button.addEventListener("click", () => this.showHeld(true));
      this.stream.before(button);
      this.newButton = button;
    }
    if (!this.newButton) return;
    this.newButton.hidden = count === 0;
    this.newButton.style.display = count ? "block" : "none"; // an inline display beats [hidden]
    this.newButton.textContent = count === 1 ? (this.text.textOneNew || "1 new update")
      : (this.text.textManyNew || "{n} new updates").replace("{n}", String(count));
    if (this.notice && count) this.notice.textContent = this.newButton.textContent;
  }

  showHeld(scroll) {
    if (!this.held.length) return;
    const entries = this.held;
    this.held = [];
    for (const entry of entries) this.insertInOrder(entry, false);
    this.updateDateLines();
    this.updateHeldButton();
    if (scroll) {
      const first = this.stream.querySelector(":scope > .entry");
      const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      first?.scrollIntoView({ behavior: reduce ? "auto" : "smooth", block: "start" });
      first?.setAttribute("tabindex", "-1");
      first?.focus({ preventScroll: true });
    }
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

  // Entries are ordered by (published_at, id): data-sort then data-id.
  before(a, b) {
    const key = (el) => [Number(el.dataset.sort), Number(el.dataset.id)];
    const [sa, ia] = key(a);
    const [sb, ib] = key(b);
    const newer = sa > sb || (sa === sb && ia > ib);
    return this.order === "oldest" ? !newer : newer;
  }

  insertInOrder(entry, announce) {
    this.stream.querySelector("[data-empty]")?.remove();
    const entries = [...this.stream.querySelectorAll(":scope > .entry")];
    const next = entries.find((el) => this.before(entry, el));
    const more = Boolean(this.root.querySelector("[data-older]"));
    // Past the last loaded entry while more pages exist: it arrives with "load older".
    if (!next && more && entries.length) {
      this.rememberOffPage(entry.id, entry);
      return;
    }
    this.stream.insertBefore(entry, next || null);
    if (announce && this.notice) {
      this.notice.textContent = this.text.textPublished || "New entry published.";
    }
  }

  rememberOffPage(id, entry) {
    this.offPage.delete(id);
    this.offPage.set(id, entry);
    if (this.offPage.size > 500) this.offPage.delete(this.offPage.keys().next().value);
  }

  // The header's fragment carries the key-points box; where the page shows the box apart
  // (the reader page's aside), it goes there, and an emptied box leaves.
  updateEvent(message) {
    const doc = this.root.ownerDocument;
    const header = doc.querySelector("[data-event-header]");
    if (!header || !message.html) return;
    const template = doc.createElement("template");
    template.innerHTML = message.html;
    const slot = doc.querySelector("[data-key-points-slot]");
    if (slot) {
      const box = template.content.querySelector("[data-key-points]");
      if (box) slot.replaceChildren(box);
      else slot.replaceChildren();
    }
    header.replaceChildren(template.content);
  }

  // --- date lines: one before the first entry of each day, in stream order -------------

  // An entry's day in the event's zone: its <time datetime> is written with that zone's
  // offset, so the date is its first ten characters.
  entryDay(entry) {
    return entry.querySelector(".entry__time time[datetime]")?.getAttribute("datetime").slice(0, 10);
  }

  // The server writes "Tuesday 1 December" (Django's "l j F"); a day it wrote no line for
  // gets the same words from Intl, in the page's language.
  dayLabel(day) {
    if (this.dayLabels.has(day)) return this.dayLabels.get(day);
    const [y, m, d] = day.split("-").map(Number);
    const lang = this.root.ownerDocument.documentElement.lang || undefined;
    const parts = new Intl.DateTimeFormat(lang, {
      weekday: "long", day: "numeric", month: "long", timeZone: "UTC",
    }).formatToParts(new Date(Date.UTC(y, m - 1, d)));
    const part = (type) => parts.find((p) => p.type === type)?.value || "";
    const label = `${part("weekday")} ${part("day")} ${part("month")}`;
    this.dayLabels.set(day, label);
    return label;
  }

  // Cheap: one pass over the entries, touching only the lines that are missing or wrong
  // (a stream without data-date-lines, the editor's, has none).
  updateDateLines() {
    if (!this.stream || !("dateLines" in this.stream.dataset)) return;
    const lines = [...this.stream.querySelectorAll(":scope > .date-line")];
    for (const line of lines) this.dayLabels.set(line.dataset.day, line.textContent);
    const keep = new Set();
    let previous = null;
    for (const entry of this.stream.querySelectorAll(":scope > .entry")) {
      const day = this.entryDay(entry);
      if (!day || day === previous) continue;
      previous = day;
      let line = entry.previousElementSibling;
      if (!line?.classList.contains("date-line") || line.dataset.day !== day) {
        line = this.dateLine(day);
        entry.before(line);
      }
      keep.add(line);
    }
    for (const line of lines) if (!keep.has(line)) line.remove();
  }

  dateLine(day) {
    const line = this.root.ownerDocument.createElement("p");
    line.className = "date-line";
    line.dataset.day = day;
    const time = this.root.ownerDocument.createElement("time");
    time.dateTime = day;
    time.textContent = this.dayLabel(day);
    line.append(time);
    return line;
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
      // The server's words for the days of this page (updateDateLines places the lines).
      for (const line of page.querySelectorAll(".date-line")) {
        this.dayLabels.set(line.dataset.day, line.textContent);
      }
      for (let entry of [...page.querySelectorAll(".entry")]) {
        if (this.offPage.has(entry.id)) entry = this.offPage.get(entry.id);
        if (entry && !document.getElementById(entry.id)) {
          this.decorate(entry);
          this.stream.appendChild(entry);
          added.push(entry);
        }
      }
      this.updateDateLines();
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
