// An entry's history (editor): a restore asks first. Without JavaScript the button restores
// at once, which is safe too: a restore is a new revision, undone by restoring the one before.
for (const form of document.querySelectorAll("form[data-restore]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
