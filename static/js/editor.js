// The editor pages: a live Markdown preview on the entry form, and on the composer the
// published stream kept live by LiveStream, with Edit/Delete on the entries I may change.
// The server stays the authority: a control shown here only links to a checked page.
import { LiveStream } from "./live.js";

const PREVIEW_DELAY_MS = 300;

function control(label, template, entry) {
  const link = document.createElement("a");
  link.className = `entry__control entry__control--${label.toLowerCase()}`;
  link.href = template.replace("/posts/0/", `/posts/${entry.dataset.id}/`);
  link.textContent = label;
  const context = document.createElement("span");
  context.className = "visually-hidden";
  const when = entry.querySelector("time")?.textContent.trim();
  context.textContent = when ? ` entry of ${when}` : " entry";
  link.append(context);
  return link;
}

function entryDecorator(page) {
  const { username, moderator, editUrl, deleteUrl } = page.dataset;
  return (entry) => {
    if (!entry || entry.querySelector("[data-controls]")) return;
    if (moderator !== "true" && entry.dataset.author !== username) return;
    const controls = document.createElement("p");
    controls.className = "entry__controls";
    controls.dataset.controls = "";
    controls.append(control("Edit", editUrl, entry), " ", control("Delete", deleteUrl, entry));
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
    if (count) count.textContent = String(Math.max(0, Number(count.textContent) - 1));
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

// Nothing typed is lost by leaving the page by mistake, and a double click sends one form.
function guardForm(form) {
  let dirty = false;
  let submitting = false;
  form.addEventListener("input", () => { dirty = true; });
  form.addEventListener("submit", (event) => {
    if (submitting) event.preventDefault();
    submitting = true;
    dirty = false;
  });
  window.addEventListener("pageshow", () => { submitting = false; });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) event.preventDefault();
  });
}

for (const form of document.querySelectorAll("[data-post-form]")) {
  livePreview(form);
  keyboardPublish(form);
  guardForm(form);
}

const page = document.querySelector("[data-editor]");
const root = page?.querySelector("[data-live]");
if (page && root) {
  new LiveStream(root, { decorate: entryDecorator(page), onChange: draftsFollower() }).start();
}
