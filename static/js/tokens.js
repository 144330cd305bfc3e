// The API tokens page: a Copy button beside a new token's key. Without JavaScript the key
// is still there to select and copy by hand (the button stays hidden).
for (const button of document.querySelectorAll("[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  if (!field || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      if (status) status.textContent = "Copied to the clipboard.";
    } catch {
      field.select();
      if (status) status.textContent = "Press Ctrl+C (or ⌘C) to copy the selected token.";
    }
  });
}
