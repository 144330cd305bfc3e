// The composer's Scheduled panel and its Schedule button (issue 11). The server decides:
// the time typed is read by the server exactly as publishing reads it (schedule-check),
// and the button only says what will happen. The panel is redrawn from the server when an
// entry is saved here, when the desk says an entry or the event changed, and just after
// each listed entry's time (the worker has published it by then).
const CHECK_DELAY_MS = 250;
const AFTER_DUE_MS = 1500;

const panel = document.querySelector("[data-scheduled]");
const form = document.querySelector("[data-post-form][data-in-place]");

function scheduleButton(form, checkUrl) {
  const time = form.elements.namedItem("published_at");
  const publish = form.querySelector("button[name=action][value=publish]");
  if (!(time instanceof HTMLInputElement) || !publish) return;
  const label = publish.textContent;
  let timer = null;
  let asked = null;

  const show = (answer) => {
    publish.textContent = answer.schedule ? "Schedule" : label;
    publish.dataset.schedule = String(Boolean(answer.schedule));
    // Said on the button itself (its description), not in the form's status line, which
    // announces what was saved.
    if (answer.schedule) publish.title = answer.message;
    else publish.removeAttribute("title");
  };

  const check = async () => {
    const value = time.value.trim();
    if (!value) {
      show({ schedule: false });
      return;
    }
    asked?.abort();
    asked = new AbortController();
    const url = `${checkUrl}?${new URLSearchParams({ published_at: value })}`;
    try {
      const response = await fetch(url, { credentials: "same-origin", signal: asked.signal });
      if (response.ok && !response.redirected) show(await response.json());
    } catch (error) {
      if (error.name !== "AbortError") show({ schedule: false });
    }
  };

  time.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, CHECK_DELAY_MS);
  });
  form.addEventListener("post-form:cleared", () => show({ schedule: false }));
  // A time ahead becomes a time past while the reporter waits: the label follows.
  setInterval(() => { if (publish.dataset.schedule === "true") check(); }, 10_000);
  check();
}

function scheduledPanel(panel) {
  let dueTimers = [];
  let inflight = null;

  const watchDue = () => {
    for (const timer of dueTimers) clearTimeout(timer);
    dueTimers = [...panel.querySelectorAll("[data-due]")].map((item) => {
      const wait = Math.max(0, Date.parse(item.dataset.due) - Date.now()) + AFTER_DUE_MS;
      return setTimeout(refresh, Math.min(wait, 2 ** 31 - 1));
    });
  };

  async function refresh() {
    inflight?.abort();
    inflight = new AbortController();
    try {
      const response = await fetch(panel.dataset.url, {
        credentials: "same-origin",
        signal: inflight.signal,
      });
      if (!response.ok || response.redirected) return;
      // Rendered by the server's template (texts escaped, bodies stripped of markup).
      panel.innerHTML = await response.text();
      watchDue();
    } catch (error) {
      if (error.name !== "AbortError") console.warn("scheduled panel: not refreshed", error);
    }
  }

  document.addEventListener("post-form:saved", (event) => {
    if (event.detail?.status === "scheduled") refresh();
  });
  window.addEventListener("desk:message", (event) => {
    const frame = event.detail || {};
    if (frame.type === "desk.changed" && (frame.what === "post" || frame.what === "event")) refresh();
  });
  watchDue();
}

if (panel) scheduledPanel(panel);
if (panel && form) scheduleButton(form, panel.dataset.checkUrl);
