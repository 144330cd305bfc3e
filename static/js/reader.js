// The reader pages: the live stream (live.js), and what makes entries pleasant to follow:
// each time also in the reader's own zone (on hover), "3 minutes ago" kept current, copy
// and share for every entry, and a permalink (#post-N) that scrolls to its entry and
// highlights it, loading older pages until the entry is there.
// The page is complete without this script; it only adds to server-rendered entries, and
// every string it shows comes translated from the page (data-* on [data-reader-status]).
import { LiveStream } from "./live.js";
import "./embeds.js";
import "./ended.js";

const REFRESH_MS = 30000;
const MAX_OLDER_PAGES = 100; // a permalink reaches back at most this many pages of 50
const OLDER_TIMEOUT_MS = 15000;
const DONE_MS = 2000;
const UNITS = [
  ["year", 31536000], ["month", 2592000], ["week", 604800],
  ["day", 86400], ["hour", 3600], ["minute", 60],
];

const root = document.querySelector("[data-live]");
const status = document.querySelector("[data-reader-status]");
const strings = status ? status.dataset : {};
const lang = document.documentElement.lang || undefined;
const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto", style: "short" });
const localTime = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
const reducedMotion = matchMedia("(prefers-reduced-motion: reduce)");
const canShare = typeof navigator.share === "function";

function ago(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.trunc(seconds / size), unit);
  }
  return relative.format(0, "second");
}

function entryTime(entry) {
  const time = entry.querySelector(".entry__time time[datetime]");
  const date = time ? new Date(time.getAttribute("datetime")) : null;
  return date && !Number.isNaN(date.getTime()) ? { time, date } : null;
}

function refresh(entry, now = Date.now()) {
  const found = entryTime(entry);
  const label = entry.querySelector("[data-ago]");
  if (found && label) label.textContent = ago(found.date, now);
}

// Called by LiveStream for every entry: those on the page, live ones, older pages.
function decorate(entry) {
  const found = entryTime(entry);
  if (found) {
    // The page shows the event's zone; the link's title adds the reader's own.
    const link = found.time.closest("a") || found.time;
    link.dataset.zoneTitle ??= link.title;
    const mine = `${strings.yourTime || "Your time"}: ${localTime.format(found.date)}`;
    link.title = link.dataset.zoneTitle ? `${link.dataset.zoneTitle} · ${mine}` : mine;
  }
  refresh(entry);
  if (canShare) entry.querySelector("[data-share]")?.removeAttribute("hidden");
}

function refreshAll() {
  if (document.hidden) return;
  const now = Date.now();
  for (const entry of document.querySelectorAll("article.entry")) refresh(entry, now);
}

function announce(text) {
  if (!status || !text) return;
  status.textContent = "";
  // A fresh text node each time, so that the same message is announced again.
  requestAnimationFrame(() => { status.textContent = text; });
}

function permalink(entry) {
  const link = entry.querySelector(".entry__time");
  return new URL(link.getAttribute("href"), location.href).href;
}

function done(button) {
  button.dataset.done = "";
  setTimeout(() => delete button.dataset.done, DONE_MS);
}

// Where the Clipboard API is refused (plain HTTP, a frame without permission), the link is
// shown selected in a field next to the button, for the reader to copy.
function showLink(button, url) {
  let field = button.parentElement.querySelector("[data-link-field]");
  if (!field) {
    field = document.createElement("input");
    field.type = "text";
    field.readOnly = true;
    field.dataset.linkField = "";
    field.className = "entry__link-field";
    field.setAttribute("aria-label", button.textContent.trim());
    button.after(field);
  }
  field.value = url;
  field.focus();
  field.select();
  return document.execCommand?.("copy") === true;
}

async function copyLink(button) {
  const url = permalink(button.closest("article.entry"));
  let copied = false;
  try {
    await navigator.clipboard.writeText(url);
    copied = true;
  } catch {
    copied = showLink(button, url);
  }
  if (copied) done(button);
  announce(copied ? strings.copied : strings.copyFailed);
}

async function share(button) {
  const entry = button.closest("article.entry");
  const headline = entry.querySelector(".entry__headline")?.textContent.trim();
  const words = entry.querySelector(".entry__body")?.textContent.trim().split(/\s+/) || [];
  try {
    await navigator.share({
      title: headline || document.title,
      text: headline || words.slice(0, 30).join(" "),
      url: permalink(entry),
    });
  } catch (error) {
    if (error?.name !== "AbortError") copyLink(button);
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest?.("[data-copy-link], [data-share]");
  if (!button) return;
  if (button.hasAttribute("data-share")) share(button);
  else copyLink(button);
});

function highlight(entry) {
  for (const old of document.querySelectorAll(".entry--highlight")) {
    old.classList.remove("entry--highlight");
  }
  void entry.offsetWidth; // restart the highlight's fade when the same entry is asked again
  entry.classList.add("entry--highlight");
  entry.setAttribute("tabindex", "-1");
  entry.scrollIntoView({ block: "start", behavior: reducedMotion.matches ? "auto" : "smooth" });
  entry.focus({ preventScroll: true });
}

function loadOlderPage(link) {
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      root.removeEventListener("live:older", finish);
      resolve();
    };
    const timer = setTimeout(finish, OLDER_TIMEOUT_MS);
    root.addEventListener("live:older", finish);
    link.click();
  });
}

// A permalink into the stream names an entry that may be older than the first page: load
// older pages (the same "Load older" the reader would press) until it is there.
async function reveal() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (!/^post-\d+$/.test(id)) return;
  let entry = document.getElementById(id);
  for (let page = 0; !entry && root && page < MAX_OLDER_PAGES; page += 1) {
    const link = root.querySelector("[data-older]");
    if (!link) break;
    const before = link.href;
    await loadOlderPage(link);
    entry = document.getElementById(id);
    if (!entry && link.isConnected && link.href === before) break; // no progress: give up
  }
  if (entry) highlight(entry);
}

// The key events fold on phones (closed as the server sends them, so nothing moves while a
// phone loads); beside the stream there is room, and they open (no shift: nothing in the
// aside's column is below them).
const keyEvents = document.querySelector("details[data-key-events-box]");
const wide = matchMedia("(min-width: 64rem)");
function unfoldKeyEvents() {
  if (keyEvents && wide.matches) keyEvents.open = true;
}
unfoldKeyEvents();
wide.addEventListener("change", unfoldKeyEvents);

if (root) {
  new LiveStream(root, { decorate }).start();
} else {
  for (const entry of document.querySelectorAll("article.entry")) decorate(entry);
}
setInterval(refreshAll, REFRESH_MS);
document.addEventListener("visibilitychange", refreshAll);
addEventListener("hashchange", reveal);
reveal();
