// Autosave of the entry form (the composer and the edit form): what is typed is copied to
// this browser's localStorage at every keystroke, and saved as the writer's draft on the
// server (liveblog/editor/autosave.py) 1.5 s after the last keystroke, or every 5 s while
// typing goes on. A reload, a crash or another device brings it back into the form, with a
// notice and a way to throw it away. The server's draft is the writer's alone; it never
// reaches readers. The edit form's draft keeps the entry's version it is based on, so that
// saving it later goes through the entry's optimistic locking like any other save.
//
// Published or saved, the entry's draft goes: editor.js fires "post-form:cleared" on the
// composer, and the views discard the server's copy on every save. Requests go one after
// the other, so a discard is never overtaken by a save sent before it.

const QUIET_MS = 1500;
const EVERY_MS = 5000;
// After a press of Publish: saved again unless the entry went out by then (cleared).
const AFTER_SUBMIT_MS = 3000;
const FLAGS = ["is_key_event", "is_pinned", "is_breaking"];

const config = document.querySelector("[data-autosave]");
const form = document.querySelector("[data-post-form]");
if (config && form) start(config, form);

function start(config, form) {
  const notice = config.querySelector("[data-autosave-restored]");
  const noticeText = config.querySelector("[data-autosave-restored-text]");
  const status = config.querySelector("[data-autosave-status]");
  // Where they are read: the notice above the fields, the status beside Publish.
  form.querySelector("[data-form-errors]")?.after(notice);
  form.querySelector("[data-actions]")?.append(status);

  const url = config.dataset.url;
  const storageKey = `liveblog:draft:${config.dataset.key}`;
  const inPlace = form.hasAttribute("data-in-place");
  const clock = clockOf(config.dataset.timezone);
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "";
  let timer = null;
  let firstUnsaved = 0;
  let queue = Promise.resolve();

  const say = (text) => { status.textContent = text; };
  const notSaved = (why) => say(`Not saved: ${why} — kept in this browser`);

  const call = (method, draft) => {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrf;
    if (draft) headers["Content-Type"] = "application/json";
    const body = draft ? JSON.stringify(draft) : undefined;
    return fetch(url, { method, headers, body, credentials: "same-origin" });
  };

  // One request after the other, in the order they were asked for.
  const enqueue = (job) => {
    queue = queue.then(job).catch(() => notSaved("offline"));
    return queue;
  };

  const local = {
    read() {
      try {
        return JSON.parse(localStorage.getItem(storageKey) ?? "null");
      } catch {
        return null;
      }
    },
    write(value) {
      try {
        if (value) localStorage.setItem(storageKey, JSON.stringify(value));
        else localStorage.removeItem(storageKey);
      } catch {
        // Storage full or refused: the server's copy is all there is.
      }
    },
  };

  const save = async () => {
    const typed = snapshot(form);
    if (same(typed, snapshot(form, { initial: true }))) {
      // Back to what the form was loaded with: there is no draft to keep.
      local.write(null);
      await call("DELETE");
      say("");
      return;
    }
    const response = await call("PUT", typed);
    if (response.redirected) return notSaved("your session has ended");
    if (response.status >= 500) return notSaved("offline");
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) return notSaved(answer.detail || `HTTP ${response.status}`);
    const kept = local.read();
    if (kept && same(kept, typed)) local.write({ ...kept, synced: true });
    say(`Draft saved ${clock(new Date(answer.updated_at))}`);
  };

  const flush = () => {
    clearTimeout(timer);
    timer = null;
    firstUnsaved = 0;
    return enqueue(save);
  };

  const typed = () => {
    local.write({ ...snapshot(form), savedAt: Date.now(), synced: false });
    const now = Date.now();
    firstUnsaved ||= now;
    clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, Math.min(QUIET_MS, firstUnsaved + EVERY_MS - now)));
  };

  const forget = () => {
    clearTimeout(timer);
    timer = null;
    firstUnsaved = 0;
    local.write(null);
    notice.hidden = true;
    return enqueue(() => call("DELETE"));
  };

  form.addEventListener("input", typed);
  form.addEventListener("change", typed);
  form.addEventListener("autosave:flush", flush); // Ctrl/Cmd+S where no draft button fits
  form.addEventListener("post-form:cleared", () => { forget(); say(""); });
  form.addEventListener("submit", (event) => {
    if (event.submitter?.value === "preview") return;
    clearTimeout(timer);
    if (inPlace) {
      timer = setTimeout(flush, AFTER_SUBMIT_MS);
      return;
    }
    // The page is replaced: the view discards the server's copy once the entry is saved.
    const kept = local.read();
    if (kept) local.write({ ...kept, submitted: true });
  });
  window.addEventListener("online", () => {
    if (local.read()?.synced === false) flush();
  });

  notice.querySelector("[data-autosave-discard]").addEventListener("click", () => {
    fill(form, snapshot(form, { initial: true }));
    forget();
    say("");
    const body = form.querySelector("[data-body]");
    body?.dispatchEvent(new Event("input", { bubbles: true })); // the preview follows
    body?.focus();
  });

  restore({ form, call, local, notice, noticeText, clock, forget, say });
}

// The draft to bring back (the server's, or this browser's copy when it is newer), put in
// the form when it differs from what the form shows.
async function restore({ form, call, local, notice, noticeText, clock, forget, say }) {
  let server = null;
  let reached = false;
  try {
    const response = await call("GET");
    reached = !response.redirected && response.status < 500;
    if (reached && response.status === 200) server = await response.json();
  } catch {
    // Offline: this browser's copy is all there is.
  }
  let kept = local.read();
  if (kept && reached && !server && gone(kept, form)) {
    local.write(null);
    kept = null;
  }
  const serverAt = server ? Date.parse(server.updated_at) : 0;
  const draft = kept && kept.savedAt > serverAt ? kept : server;
  if (!draft) return;
  const at = kept === draft ? kept.savedAt : serverAt;
  if (same(draft, snapshot(form))) {
    if (!same(draft, snapshot(form, { initial: true }))) return; // e.g. the outbox's entry
    forget();
    return;
  }
  fill(form, draft);
  noticeText.textContent = `Restored what you were typing (${clock(new Date(at))})`;
  notice.hidden = false;
  say("");
  form.dispatchEvent(new Event("input", { bubbles: true })); // the preview, and a save
}

// This browser's copy has no server draft any more: thrown away or saved elsewhere (the
// server had it), or, in the edit form, saved here (the entry has moved on since).
function gone(kept, form) {
  if (kept.synced) return true;
  const version = Number(form.elements.namedItem("version")?.value || 0);
  return Boolean(kept.submitted) && version > Number(kept.fields?.version || 0);
}

function value(form, name, initial) {
  const input = form.elements.namedItem(name);
  if (!input) return undefined;
  if (input.type === "checkbox") return initial ? input.defaultChecked : input.checked;
  return initial ? input.defaultValue : input.value;
}

// What the form holds (or was loaded with): the texts, and the rest as `fields`.
function snapshot(form, { initial = false } = {}) {
  const fields = {};
  for (const name of ["published_at", ...FLAGS, "version"]) {
    const found = value(form, name, initial);
    if (found !== undefined) fields[name] = name === "version" ? Number(found) : found;
  }
  return {
    headline: value(form, "headline", initial) ?? "",
    body: value(form, "body", initial) ?? "",
    fields,
  };
}

// Whether two drafts say the same: the version one is based on is not something typed.
function same(a, b) {
  if (a.headline !== b.headline || a.body !== b.body) return false;
  const field = (draft, name) => draft.fields?.[name];
  if (String(field(a, "published_at") ?? "") !== String(field(b, "published_at") ?? "")) return false;
  return FLAGS.every((name) => Boolean(field(a, name)) === Boolean(field(b, name)));
}

function fill(form, draft) {
  for (const name of ["headline", "body"]) {
    const input = form.elements.namedItem(name);
    if (input) input.value = draft[name] ?? "";
  }
  for (const [name, found] of Object.entries(draft.fields ?? {})) {
    const input = form.elements.namedItem(name);
    if (!input || input.disabled) continue;
    if (input.type === "checkbox") input.checked = Boolean(found);
    else input.value = String(found ?? "");
  }
}

function clockOf(timeZone) {
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  let format;
  try {
    format = new Intl.DateTimeFormat("en-GB", { ...options, timeZone });
  } catch {
    format = new Intl.DateTimeFormat("en-GB", options);
  }
  return (when) => format.format(when);
}
