// Click-to-load embeds (liveblog/blog/rendering.py renders the cards): nothing from a
// provider loads until the reader asks for it, then the card's placeholder becomes the
// provider's frame, sandboxed. One listener on the document, so entries that arrive live
// work too; the buttons show only where this script runs (the CSS reads data-embeds).
const SHAPES = new Set(["16x9", "9x16", "post", "audio", "list"]);
const SANDBOX = "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-presentation";

function frameFor(card) {
  let url;
  try {
    url = new URL(card.dataset.embed);
  } catch {
    return null;
  }
  if (url.protocol !== "https:") return null;
  const frame = document.createElement("iframe");
  frame.src = url.href;
  frame.title = card.dataset.embedTitle || url.hostname;
  frame.setAttribute("sandbox", SANDBOX);
  frame.allow = "encrypted-media; fullscreen; picture-in-picture";
  frame.referrerPolicy = "strict-origin-when-cross-origin";
  frame.className = "embed__frame";
  return frame;
}

function load(card) {
  const placeholder = card.querySelector("[data-embed-placeholder]");
  const frame = frameFor(card);
  if (!placeholder || !frame) return;
  const shape = SHAPES.has(card.dataset.embedShape) ? card.dataset.embedShape : "16x9";
  const box = document.createElement("div");
  box.className = `embed__box embed__box--${shape}`;
  box.append(frame);
  placeholder.replaceWith(box);
  card.dataset.embedLoaded = "true";
  // The button the reader pressed is gone: focus goes to what it loaded.
  frame.focus();
}

document.documentElement.dataset.embeds = "on";
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element && event.target.closest("[data-embed-load]");
  const card = button && button.closest("figure[data-embed]");
  if (card) load(card);
});
