// The entry form's keyboard shortcuts and their help (templates/editor/_shortcuts.html):
// Ctrl/Cmd+S saves a draft, Alt+N goes to the composer's text, Ctrl/Cmd+Shift+P shows or
// hides the preview, "/" filters the published entries, "?" lists them all. Publish
// (Ctrl/Cmd+Enter) and bold/italic live with the form, in editor.js. "/" and "?" are
// letters like any other while typing in a field: they act only outside one.

const dialog = document.querySelector("[data-shortcuts]");
const form = document.querySelector("[data-post-form]");
if (dialog && form) start(dialog, form);

function start(dialog, form) {
  const said = document.querySelector("[data-shortcuts-said]");
  const say = (text) => { if (said) said.textContent = text; };
  const help = helpDialog(dialog);
  const filter = streamFilter();

  const opener = document.querySelector("[data-shortcuts-open]");
  if (opener) {
    // In the editor's bar, beside who is signed in; hidden without the script it needs.
    document.querySelector(".editor-bar .editor-bar__user")?.before(opener);
    opener.hidden = false;
    opener.addEventListener("click", () => help.open());
  }

  const actions = {
    saveDraft() {
      // A published entry's "Move to drafts" would take it away from readers: its
      // changes are saved as the writer's draft instead (autosave.js).
      const button = form.querySelector("button[name=action][value=draft]");
      if (dialog.dataset.entryPublic === "true" || !button) {
        form.dispatchEvent(new CustomEvent("autosave:flush"));
      } else {
        form.requestSubmit(button);
      }
    },
    newEntry() {
      if (form.hasAttribute("data-in-place")) {
        const body = form.querySelector("[data-body]");
        body?.focus();
        body?.scrollIntoView({ block: "center" });
      } else {
        location.assign(dialog.dataset.composerUrl);
      }
    },
    togglePreview() {
      const preview = form.querySelector("[data-preview]");
      if (!preview) return;
      preview.hidden = !preview.hidden;
      say(preview.hidden ? "Preview hidden." : "Preview shown.");
    },
  };

  document.addEventListener("keydown", (event) => {
    if (dialog.open || event.defaultPrevented) return;
    const command = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    let action = null;
    if (command && !event.altKey && !event.shiftKey && key === "s") action = actions.saveDraft;
    else if (event.altKey && !command && event.code === "KeyN") action = actions.newEntry;
    else if (command && event.shiftKey && !event.altKey && event.code === "KeyP") {
      action = actions.togglePreview;
    } else if (!command && !event.altKey && !inField(event.target)) {
      if (event.key === "?") action = () => help.open();
      else if (event.key === "/" && filter) action = () => filter.focus();
    }
    if (!action) return;
    event.preventDefault();
    action();
  });
}

function inField(target) {
  return Boolean(target?.closest?.("input, textarea, select, [contenteditable]"));
}

// A modal <dialog>: the page behind it is inert, Esc closes it (the browser's own), Tab
// stays inside, and focus goes back to where it was.
function helpDialog(dialog) {
  let before = null;
  dialog.addEventListener("close", () => before?.focus());
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const stops = [...dialog.querySelectorAll("button, [href], input, select, textarea, [tabindex]")]
      .filter((el) => !el.disabled && el.tabIndex >= 0);
    if (!stops.length) return;
    const [first, last] = [stops[0], stops[stops.length - 1]];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
  return {
    open() {
      if (dialog.open) return;
      before = document.activeElement;
      dialog.showModal();
    },
  };
}

// The composer's filter over its published entries: what they say, matched as typed, new
// entries included as they arrive. Hidden entries are only hidden here, on this page.
function streamFilter() {
  const box = document.querySelector("[data-stream-filter]");
  const live = document.querySelector("[data-editor] [data-live]");
  if (!box || !live) return null;
  const input = box.querySelector("[data-stream-filter-input]");
  const count = box.querySelector("[data-stream-filter-count]");
  live.before(box);
  box.hidden = false;
  let shown = "";
  const apply = () => {
    const wanted = input.value.trim().toLocaleLowerCase();
    const entries = [...live.querySelectorAll("article.entry")];
    let matching = 0;
    for (const entry of entries) {
      const match = !wanted || entry.textContent.toLocaleLowerCase().includes(wanted);
      if (entry.hidden === match) entry.hidden = !match;
      if (match) matching += 1;
    }
    const text = wanted ? `${matching} of ${entries.length} entries shown.` : "";
    if (text !== shown) count.textContent = shown = text; // announced only when it changes
  };
  input.addEventListener("input", apply);
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !input.value) return;
    event.preventDefault();
    input.value = "";
    apply();
  });
  new MutationObserver(apply).observe(live, { childList: true, subtree: true });
  return input;
}
