// The entry form's photos: picked with the file input, dropped on the form or pasted into
// the entry's body, each uploaded at once (the server verifies and re-encodes it) and then
// listed as the server renders it (editor/_image_item.html): a thumbnail, alt text,
// caption, credit, and buttons to move or remove it. The ids travel in order with the form
// (the `images` inputs in the list), so the in-place publish and a plain POST both attach
// them. A refused file shows the server's sentence beside its name; nothing typed is lost.

const ALT_REQUIRED = "Alt text is required to publish: describe the photo, or tick Decorative.";

function csrfToken(form) {
  return form.querySelector("[name=csrfmiddlewaretoken]")?.value ?? "";
}

function filesOf(transfer) {
  return transfer ? [...transfer.files] : [];
}

// XMLHttpRequest, not fetch: fetch reports no upload progress.
function post(url, form, file, onProgress) {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-CSRFToken", csrfToken(form));
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      const answer = request.response ?? {};
      if (request.status === 201) resolve({ html: answer.html });
      else if (request.responseURL && new URL(request.responseURL).pathname !== new URL(url, location.href).pathname) {
        resolve({ detail: "Your session has ended: sign in again in another tab, then add the photo again." });
      } else resolve({ detail: answer.detail || `Not uploaded (HTTP ${request.status}).` });
    });
    request.addEventListener("error", () => {
      resolve({ detail: "Not uploaded: no connection. Add the photo again when you are back online." });
    });
    const data = new FormData();
    data.append("file", file);
    request.send(data);
  });
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

// A file on its way: its name and a progress bar, then the server's item or its refusal.
function pending(file) {
  const item = element("li", "upload upload--pending");
  item.dataset.pending = "";
  const name = element("p", "upload__name", file.name || "Pasted photo");
  const progress = element("progress", "upload__progress");
  progress.max = 1;
  progress.value = 0;
  progress.setAttribute("aria-label", `Uploading ${file.name || "the pasted photo"}`);
  const status = element("p", "upload__status", "Uploading…");
  status.setAttribute("role", "status");
  item.append(name, progress, status);
  return { item, progress, status };
}

function refused(parts, detail) {
  const { item, progress, status } = parts;
  delete item.dataset.pending;
  item.classList.replace("upload--pending", "upload--refused");
  progress.remove();
  status.textContent = detail;
  status.setAttribute("role", "alert");
  const dismiss = element("button", "btn btn--quiet", "Dismiss");
  dismiss.type = "button";
  dismiss.addEventListener("click", () => item.remove());
  item.append(dismiss);
}

function fromHtml(html) {
  const template = document.createElement("template");
  template.innerHTML = html; // rendered by the server's template, every value escaped
  return template.content.firstElementChild;
}

export function photos(form) {
  const region = form.querySelector("[data-images]");
  if (!region) return null;
  const list = region.querySelector("[data-upload-list]");
  const input = region.querySelector("[data-file-input]");
  const zone = region.querySelector("[data-drop-zone]");
  const body = form.querySelector("[data-body]");
  const url = region.dataset.uploadUrl;
  zone.hidden = false;
  const status = element("p", "visually-hidden");
  status.setAttribute("role", "status");
  region.append(status);
  const say = (text) => { status.textContent = text; };

  // Move up on the first photo and Move down on the last do nothing: they say so.
  const ends = () => {
    const items = [...list.querySelectorAll("[data-upload]")];
    items.forEach((item, n) => {
      const up = item.querySelector("[data-move='-1']");
      const down = item.querySelector("[data-move='1']");
      if (up) up.disabled = n === 0;
      if (down) down.disabled = n === items.length - 1;
    });
  };
  const ready = (item) => {
    item.querySelector("[data-upload-actions]")?.removeAttribute("hidden");
  };
  for (const item of list.querySelectorAll("[data-upload]")) ready(item);
  ends();

  // The "alt text is required" beside a photo goes once alt is typed or Decorative ticked.
  list.addEventListener("input", (event) => {
    const item = event.target.closest("[data-upload]");
    const alt = item?.querySelector("input[name$='-alt']");
    const decorative = item?.querySelector("input[name$='-decorative']");
    if (!alt || !(alt.value.trim() || decorative?.checked)) return;
    const field = alt.closest(".field");
    field?.querySelector(".errorlist")?.remove();
    field?.classList.remove("field--error");
    alt.removeAttribute("aria-invalid");
    const described = (alt.getAttribute("aria-describedby") || "").split(" ")
      .filter((id) => id && !id.endsWith("_error"));
    alt.setAttribute("aria-describedby", described.join(" "));
  });

  const upload = async (file) => {
    const parts = pending(file);
    list.append(parts.item);
    const answer = await post(url, form, file, (share) => { parts.progress.value = share; });
    if (!answer.html) {
      refused(parts, answer.detail);
      return;
    }
    const item = fromHtml(answer.html);
    ready(item);
    parts.item.replaceWith(item);
    ends();
    form.dispatchEvent(new Event("input", { bubbles: true })); // something to keep now
    say(`${file.name || "Photo"} uploaded: add its alt text.`);
  };
  const uploadAll = (files) => { for (const file of files) upload(file); };

  input.addEventListener("change", () => {
    uploadAll([...input.files]);
    input.value = ""; // the same file may be picked again
  });

  // The whole form is the drop zone; the zone's text says so while something is dragged.
  const dragging = (on) => form.classList.toggle("post-form--dropping", on);
  form.addEventListener("dragover", (event) => {
    if (![...(event.dataTransfer?.types ?? [])].includes("Files")) return;
    event.preventDefault();
    dragging(true);
  });
  form.addEventListener("dragleave", (event) => {
    if (!form.contains(event.relatedTarget)) dragging(false);
  });
  form.addEventListener("drop", (event) => {
    const files = filesOf(event.dataTransfer);
    dragging(false);
    if (!files.length) return;
    event.preventDefault();
    uploadAll(files);
  });

  // In the capture phase, before paste-markdown's handler on the body: an image on the
  // clipboard is uploaded, and its HTML or link is not pasted as text.
  form.addEventListener("paste", (event) => {
    if (event.target !== body) return;
    const files = filesOf(event.clipboardData).filter((file) => file.type.startsWith("image/"));
    if (!files.length) return;
    event.preventDefault();
    event.stopPropagation();
    uploadAll(files);
  }, true);

  region.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    const item = button?.closest("[data-upload]");
    if (!item) return;
    if (button.hasAttribute("data-remove")) {
      const next = item.nextElementSibling ?? item.previousElementSibling;
      item.remove();
      ends();
      (next?.querySelector("[data-remove]") ?? input).focus();
      say("Photo removed from the entry.");
      form.dispatchEvent(new Event("input", { bubbles: true }));
    } else if (button.dataset.move) {
      const up = button.dataset.move === "-1";
      const other = up ? item.previousElementSibling : item.nextElementSibling;
      if (!other) return;
      if (up) other.before(item); else other.after(item);
      ends();
      // At an end the pressed button is disabled: focus its twin.
      (button.disabled ? item.querySelector(`[data-move='${up ? 1 : -1}']`) : button).focus();
      const place = [...list.children].indexOf(item) + 1;
      say(`Photo moved to place ${place} of ${list.children.length}.`);
      form.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });

  form.addEventListener("post-form:cleared", () => { list.replaceChildren(); });

  return {
    // Photos still uploading: publishing now would leave them out.
    busy: () => list.querySelector("[data-pending]") !== null,
    // The alt inputs that publishing refuses (not decorative, nothing typed), in order.
    missingAlt: () => [...list.querySelectorAll("[data-upload]")]
      .filter((item) => !item.querySelector("input[name$='-decorative']")?.checked)
      .map((item) => item.querySelector("input[name$='-alt']"))
      .filter((alt) => alt && !alt.value.trim()),
    ALT_REQUIRED,
  };
}
