// The reader pages' "ended" banner follows the event live: an event.updated frame (live.js
// dispatches "live:change") shows it when the coverage ends, hides it if it is reopened.
document.addEventListener("live:change", (event) => {
  const message = event.detail;
  if (message?.type !== "event.updated" || !message.event) return;
  for (const banner of document.querySelectorAll("[data-ended-banner]")) {
    banner.hidden = message.event.status !== "ended";
  }
});
