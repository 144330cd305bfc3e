// The editor pages: the entry form (Markdown toolbar, paste as Markdown, live preview,
// publishing without a reload on the composer) and, on the composer, the published stream
// kept live by LiveStream, compact, with Edit/Delete on the entries I may change.
// The server stays the authority: a control shown here only links to a checked page.
// The toolbar and paste handling are GitHub's components, vendored from npm (make vendor).
import "../vendor/markdown-toolbar-element/index.js";
import { subscribe as pasteMarkdown } from "../vendor/paste-markdown/bundle.js";
import { LiveStream } from "./live.js";
import { Outbox } from "./outbox.js";
import { photos } from "./uploads.js";

const PREVIEW_DELAY_MS = 300;
const SPEAKER = "Speaker";

function control(label, template, entry) {
  const link = document.createElement("a");
  link.className = `entry__control entry__control--${label.toLowerCase()}`;
  link.href = template.replace("/posts/0/", `/posts/${entry.dataset.id}/`);
  link.textContent = label;
  link.append(entryContext(entry));
  return link;
}

function entryContext(entry) {
  const context = document.createElement("span");
  context.className = "visually-hidden";
  const when = entry.querySelector("time")?.textContent.trim();
  context.textContent = when ? ` entry of ${when}` : " entry";
  return context;
}

// The published list shows each entry's first lines (CSS line clamp on .entry__body) and
// its photos as thumbnails; Expand shows the rest. The button is shown only while there is more to see.
const clamped = new ResizeObserver((records) => {
  for (const { target } of records) {
    const button = target.closest(".entry")?.querySelector("[data-expand]");
    if (!button) continue;
    // Photos are shown as thumbnails until expanded: there is more to see.
    const photos = target.closest(".entry")?.querySelector(".entry__image");
    const more = target.scrollHeight > target.clientHeight + 1 || Boolean(photos);
    button.hidden = !more && button.getAttribute("aria-expanded") !== "true";
  }
});

function expandButton(entry, body) {
  body.id ||= `${entry.id}-body`;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn--link entry__control entry__expand";
  button.dataset.expand = "";
  button.hidden = true;
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", body.id);
  button.append("Expand", entryContext(entry));
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    entry.classList.toggle("entry--expanded", open);
  });
  clamped.observe(body);
  return button;
}

function entryDecorator(page) {
  const { username, moderator, editUrl, deleteUrl, historyUrl } = page.dataset;
  return (entry) => {
    if (!entry || entry.querySelector("[data-controls]")) return;
    const controls = document.createElement("p");
    controls.className = "entry__controls";
    controls.dataset.controls = "";
    const body = entry.querySelector(".entry__body");
    if (body) controls.append(expandButton(entry, body));
    if (moderator === "true" || entry.dataset.author === username) {
      controls.append(control("Edit", editUrl, entry), " ", control("Delete", deleteUrl, entry));
    }
    // An entry's history is for editors (SPEC §4: see and restore revisions).
    if (moderator === "true" && historyUrl) controls.append(" ", control("History", historyUrl, entry));
    entry.append(controls);
  };
}

// A draft that someone publishes leaves the Drafts list: it now arrives in the stream.
function draftsFollower() {
  const count = document.querySelector("[data-drafts-count]");
  return (message) => {
    if (message.type !== "post.created") return;
    const draft = document.getElementById(`draft-${message.post.id}`);
    if (!draft) return;
    draft.closest("li")?.remove();
    const left = document.querySelector("[data-drafts]")?.children.length ?? 0;
    if (count) count.textContent = String(left);
    const empty = document.querySelector("[data-drafts-empty]");
    if (empty) empty.hidden = left > 0;
  };
}

function csrfToken(form) {
  return form.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "";
}

function livePreview(form) {
  const body = form.querySelector("[data-body]");
  const region = form.querySelector("[data-preview]");
  const output = form.querySelector("[data-preview-body]");
  if (!body || !region || !output) return;
  form.querySelector("[data-preview-button]")?.setAttribute("hidden", "");
  region.hidden = false;
  let timer = null;
  let inflight = null;

  const show = (text) => {
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = text;
    output.replaceChildren(note);
  };

  const render = async () => {
    if (!body.value.trim()) {
      show("Nothing to preview yet.");
      return;
    }
    inflight?.abort();
    inflight = new AbortController();
    const data = new FormData();
    data.append("body", body.value);
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(form) },
        signal: inflight.signal,
      });
      if (response.redirected) show("Your session has ended: sign in again to preview.");
      else if (!response.ok) show(`Preview unavailable (HTTP ${response.status}).`);
      // Sanitised by the server with the same renderer as publishing.
      else output.innerHTML = await response.text();
    } catch (error) {
      if (error.name !== "AbortError") show("Preview unavailable: no connection.");
    }
  };

  body.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(render, PREVIEW_DELAY_MS);
  });
  render();
  return render;
}

function keyboardPublish(form) {
  const body = form.querySelector("[data-body]");
  const publish = form.querySelector("button[name=action][value=publish]");
  const hint = form.querySelector("[data-shortcut]");
  if (!body || !publish) return;
  if (hint) hint.hidden = false;
  body.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit(publish);
    }
  });
}

// "> what was said" then "> — Speaker", which the renderer shows as a quote with its
// attribution; the speaker's placeholder is left selected, to be typed over.
function quoteWithSpeaker(body) {
  const { selectionStart: start, selectionEnd: end, value } = body;
  const said = value.slice(start, end).trim();
  const gap = start > 0 && !value.slice(0, start).endsWith("\n\n")
    ? (value[start - 1] === "\n" ? "\n" : "\n\n") : "";
  const lines = (said || "Quote").split("\n").map((line) => `> ${line}`.trimEnd());
  const text = `${gap}${lines.join("\n")}\n> — ${SPEAKER}`;
  body.focus();
  // insertText keeps the browser's undo history; setRangeText where it is refused.
  if (!document.execCommand("insertText", false, text)) {
    body.setRangeText(text, start, end, "end");
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }
  const selectFrom = said ? start + text.length - SPEAKER.length : start + gap.length + 2;
  const selectTo = said ? start + text.length : selectFrom + "Quote".length;
  body.setSelectionRange(selectFrom, selectTo);
}

// markdown-toolbar-element 2.2 has no shortcuts of its own (GitHub pairs it with
// @github/hotkey): Ctrl/Cmd+B and I press its buttons, two keys needing no dependency.
const SHORTCUTS = { b: "bold", i: "italic" };

function markdownToolbar(form) {
  const toolbar = form.querySelector("[data-toolbar]");
  const body = form.querySelector("[data-body]");
  if (!toolbar || !body || !customElements.get("markdown-toolbar")) return;
  toolbar.hidden = false;
  toolbar.querySelector("[data-quote-speaker]")?.addEventListener("click", () => {
    quoteWithSpeaker(body);
  });
  body.addEventListener("keydown", (event) => {
    const style = SHORTCUTS[event.key.toLowerCase()];
    if (!style || !(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    event.preventDefault();
    toolbar.querySelector(`[data-md-button="${style}"]`)?.click();
  });
  // Links, tables and HTML pasted from a page arrive as Markdown (GitHub's paste-markdown).
  pasteMarkdown(body);
}

// Nothing typed is lost by leaving the page by mistake.
function guardUnload(form) {
  const state = { dirty: false };
  form.addEventListener("input", () => { state.dirty = true; });
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty) event.preventDefault();
  });
  return state;
}

// Checked here before anything is sent (the server checks again): photos still uploading,
// and, to publish, a photo without alt text, shown beside its field.
function photosReady(form, pictures, submitter) {
  if (!pictures || submitter?.value === "preview") return true;
  if (pictures.busy()) {
    showErrors(form, { detail: "A photo is still uploading: send again when it is listed." });
    return false;
  }
  if (submitter?.value !== "publish") return true;
  const missing = pictures.missingAlt();
  if (!missing.length) return true;
  const fields = Object.fromEntries(missing.map((input) => [input.name, [pictures.ALT_REQUIRED]]));
  showErrors(form, { detail: "Not sent: a photo needs its alt text.", fields });
  return false;
}

// A form posted by the browser: a double click sends it once.
function submitOnce(form, state, pictures) {
  let submitting = false;
  form.addEventListener("submit", (event) => {
    if (!submitting && !photosReady(form, pictures, event.submitter)) {
      event.preventDefault();
      return;
    }
    if (submitting) event.preventDefault();
    submitting = true;
    state.dirty = false;
  });
  window.addEventListener("pageshow", () => { submitting = false; });
}

// --- publishing without a reload (the composer) ------------------------------------------

function clearErrors(form) {
  for (const list of form.querySelectorAll(".field .errorlist")) list.remove();
  for (const field of form.querySelectorAll(".field--error")) field.classList.remove("field--error");
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    const described = (input.getAttribute("aria-describedby") || "").split(" ")
      .filter((id) => id && !id.endsWith("_error"));
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
  }
  const general = form.querySelector("[data-form-errors]");
  general.replaceChildren();
  general.hidden = true;
}

// As the server renders them: a list before the input, named by aria-describedby.
function fieldErrors(input, messages) {
  const list = document.createElement("ul");
  list.className = "errorlist";
  list.id = `${input.id}_error`;
  for (const message of messages) {
    const item = document.createElement("li");
    item.textContent = message;
    list.append(item);
  }
  input.before(list);
  input.closest(".field").classList.add("field--error");
  input.setAttribute("aria-invalid", "true");
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  input.setAttribute("aria-describedby", [...described, list.id].join(" "));
}

function showErrors(form, { detail, fields = {} }) {
  clearErrors(form);
  const general = [];
  let first = null;
  for (const [name, messages] of Object.entries(fields)) {
    const input = form.elements.namedItem(name);
    if (!(input instanceof HTMLElement) || !input.closest(".field")) {
      general.push(...messages);
      continue;
    }
    fieldErrors(input, messages);
    first ??= input;
  }
  if (detail && (general.length || !first)) general.unshift(detail);
  if (general.length) {
    const region = form.querySelector("[data-form-errors]");
    const text = document.createElement("p");
    text.textContent = general.join(" ");
    region.replaceChildren(text);
    region.hidden = false;
  }
  first?.focus();
}

function announce(form, text, { failed = false } = {}) {
  const status = form.querySelector("[data-form-status]");
  if (!status) return;
  // A refusal reads as one (the danger colour), not in the "Published." green.
  status.classList.toggle("form-status--failed", failed);
  // Emptied first, so that a second "Published." is announced too.
  status.textContent = "";
  requestAnimationFrame(() => { status.textContent = text; });
}

function addDraft(html) {
  const list = document.querySelector("[data-drafts]");
  if (!list) return;
  const item = document.createElement("li");
  item.innerHTML = html; // rendered by the server's template, body sanitised
  list.prepend(item);
  const count = document.querySelector("[data-drafts-count]");
  if (count) count.textContent = String(list.children.length);
  const empty = document.querySelector("[data-drafts-empty]");
  if (empty) empty.hidden = true;
}

function clearForm(form, token) {
  for (const name of ["headline", "body", "published_at"]) {
    const input = form.elements.namedItem(name);
    if (input) input.value = "";
  }
  for (const box of form.querySelectorAll("input[type=checkbox]:not(:disabled)")) box.checked = false;
  form.elements.namedItem("token").value = token;
  // The photo upload (data-images) and the preview follow from this event.
  form.dispatchEvent(new CustomEvent("post-form:cleared", { bubbles: true }));
}

const UNREACHABLE = "Not sent: the server cannot be reached. Your entry is kept and will be sent when it answers.";

async function send(form, data) {
  let response;
  try {
    // getAttribute: the buttons named "action" shadow form.action (forms override built-ins).
    response = await fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken(form) },
    });
  } catch {
    return { unreachable: true }; // no network, or the connection dropped
  }
  // A proxy with no server behind it, or a server without its database (PostgreSQL down).
  if (response.status >= 500) return { unreachable: true };
  if (response.redirected) {
    return { detail: "Your session has ended: sign in again in another tab, then send again. Nothing was saved." };
  }
  const isJson = (response.headers.get("Content-Type") || "").startsWith("application/json");
  const answer = isJson ? await response.json() : {};
  if (response.ok) return { saved: answer };
  return { detail: answer.detail || `Not saved (HTTP ${response.status}).`, fields: answer.fields };
}

// The same view answers JSON; nothing typed is lost until the entry is stored. A published
// entry appears in the list through the live socket, as it does for every other writer.
// Not reaching the server, the entry waits in the outbox (outbox.js) and goes by itself,
// once (the form's token), when the server answers again.
function submitInPlace(form, state, pictures) {
  const body = form.querySelector("[data-body]");
  const status = form.querySelector("[data-form-status]");
  let busy = false;
  // "Published." is about the entry just sent: typing the next one makes it old news.
  body?.addEventListener("input", () => { if (status && !outbox.waiting) status.textContent = ""; });

  const attempt = async (submitter) => {
    if (busy) return; // a double click sends one entry
    busy = true;
    form.setAttribute("aria-busy", "true");
    outbox.choose(submitter);
    try {
      const result = await send(form, outbox.data(submitter));
      if (result.unreachable) {
        outbox.keep(submitter);
        clearErrors(form);
        announce(form, UNREACHABLE, { failed: true });
        return;
      }
      outbox.done();
      if (result.saved) {
        const here = form.contains(document.activeElement);
        clearErrors(form);
        clearForm(form, result.saved.token);
        state.dirty = false;
        if (result.saved.html) addDraft(result.saved.html);
        form.dispatchEvent(new CustomEvent("post-form:saved", { bubbles: true, detail: result.saved }));
        announce(form, result.saved.message);
        // Sent by a retry while the reporter works elsewhere on the page: focus stays there.
        if (submitter || here) body?.focus();
      } else {
        showErrors(form, result);
        announce(form, "Not saved: see the errors.", { failed: true });
      }
    } catch {
      showErrors(form, { detail: "Not saved: no connection. Nothing typed is lost: send it again." });
    } finally {
      busy = false;
      form.removeAttribute("aria-busy");
    }
  };
  const outbox = new Outbox(form, () => attempt(null));

  form.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    if (submitter?.value === "preview") return;
    event.preventDefault();
    if (busy) return;
    if (!photosReady(form, pictures, submitter)) {
      announce(form, "Not saved: see the errors.", { failed: true });
      return;
    }
    attempt(submitter);
  });
  // Left waiting when the page was closed or reloaded: shown again, and sent.
  if (outbox.restore()) {
    announce(form, UNREACHABLE, { failed: true });
    attempt(null);
  }
}

for (const form of document.querySelectorAll("[data-post-form]")) {
  markdownToolbar(form);
  const preview = livePreview(form);
  form.addEventListener("post-form:cleared", () => preview?.());
  keyboardPublish(form);
  const pictures = photos(form);
  const state = guardUnload(form);
  if (form.hasAttribute("data-in-place")) submitInPlace(form, state, pictures);
  else submitOnce(form, state, pictures);
}

const page = document.querySelector("[data-editor]");
const root = page?.querySelector("[data-live]");
if (page && root) {
  page.classList.add("composer-page--compact");
  new LiveStream(root, { decorate: entryDecorator(page), onChange: draftsFollower() }).start();
}
