// The composer's lifecycle controls follow the event live: when an editor (here or
// elsewhere) goes live, ends or reopens the event, its event.updated frame reaches this page
// through the live stream (live.js dispatches "live:change"), and the header offers the one
// step that fits, the new-entry form its "ended" notice. The server refuses a step or an
// entry the event is not ready for whatever this page shows.

const lifecycle = document.querySelector("[data-lifecycle]");
const notice = document.querySelector("[data-ended-notice]");

function follow(status) {
  if (lifecycle) {
    lifecycle.dataset.status = status;
    for (const form of lifecycle.querySelectorAll("[data-step]")) {
      form.hidden = form.dataset.step !== status;
    }
    lifecycle.querySelector("[data-auto-end]")?.toggleAttribute("hidden", status === "ended");
  }
  if (notice) notice.hidden = status !== "ended";
}

document.addEventListener("live:change", (event) => {
  const message = event.detail;
  if (message?.type === "event.updated" && message.event) follow(message.event.status);
});

// Ending refuses every new entry: asked once more before the confirmation page's own
// question (with JavaScript the question is asked here, and the page is skipped).
const end = lifecycle?.querySelector("[data-step=live]");
end?.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!window.confirm(end.dataset.confirm)) return;
  const form = document.createElement("form");
  form.method = "post";
  form.action = end.action;
  const token = document.querySelector("[name=csrfmiddlewaretoken]");
  if (token) form.append(token.cloneNode());
  document.body.append(form);
  form.submit();
});
