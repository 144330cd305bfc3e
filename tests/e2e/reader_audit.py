"""Audit the reader page as it ships: Lighthouse scores and README screenshots.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python tests/e2e/reader_audit.py

Seeds an event with 200 entries (realistic text, a pinned entry, key events), runs
collectstatic, serves the site with daphne in production settings (DEBUG=0, whitenoise's
compressed, hashed static files; SECURE_SSL_REDIRECT=0 for plain HTTP on loopback), then runs
Lighthouse (npm lighthouse@12.2.3, Debian's Chromium) mobile and desktop, and takes the
screenshots in docs/screenshots/. `make lighthouse` runs it. Not part of `make test`:
Lighthouse's figures are measurements, and the suite asserts no timings.
"""

import argparse
import hashlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
LIGHTHOUSE = "lighthouse@12.2.3"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
)
SLUG = "opening-ceremony-audit"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")

LINES = [
    "Delegates are **queueing** at the main hall; security checks take about ten minutes.",
    "The orchestra is tuning up. The programme lists a new piece by the conservatory's "
    "youngest composer, written for the occasion.",
    "About 3,000 people in the hall, according to the organisers. The balcony is still half empty.",
    "Our reporter in the press room says the Wi-Fi is holding up, for now. The "
    "[full programme](https://example.org/programme) is online.",
    "> We meet at a time when cooperation matters more than ever.\n\n"
    "The chair opens with a minute of silence for the victims of the floods.",
    "Questions from the floor: the first is about how the fund will be shared between "
    "the member universities.",
    "Applause, long and loud. Several delegations stand up.",
]
KEY_EVENTS = [
    "Doors open",
    "The chair opens the conference",
    "Keynote: energy, water and trust",
    "A 40-million-euro research fund",
    "Student protest outside, peaceful",
]

KEY_POINTS = (
    "- The chair opened the conference with a minute of silence for the flood victims\n"
    "- A **40-million-euro** research fund, shared by the member universities\n"
    "- A peaceful student protest outside the main hall"
)


# Issue 10: what a newsroom publishes beside prose, counted from the newest entry (the first
# screen shows a photo, a quote, the breaking entry and a video): every 5th entry carries a
# photo (40 in 200), every 10th an embed (each provider in turn, 20 in 200), and every 10th a
# quote with its speaker.
PHOTO_EVERY, EMBED_EVERY = 5, 10
EMBEDS = [
    "Watch the opening address:\n\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "The organisers' post:\n\nhttps://x.com/jack/status/20",
    "The orchestra's rehearsal:\n\nhttps://vimeo.com/76979871",
    "From the press room:\n\nhttps://bsky.app/profile/reuters.com/post/3k44deefqdk2g",
    "The piece they played:\n\nhttps://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    "The full text of the fund's charter:\n\nhttps://example.org/charter.pdf",
    "Background:\n\nhttps://example.org/news/2026/the-research-fund-explained",
]
QUOTES = [
    "> We meet at a time when cooperation matters more than ever.\n> — Liu Yunshan",
    "> Forty million euros, shared by every member university, decided by a jury of "
    "peers.\n> — The chair of the conference",
    "> We are late, but not too late.\n> — The mayor",
]
PHOTO_CAPTIONS = [
    ("Delegates in the main hall before the opening", "The main hall, shortly before ten."),
    ("The orchestra on stage, seen from the balcony", "The conservatory's orchestra."),
    ("The chair at the lectern", "The chair opens the conference."),
    ("Students with banners outside the hall", "The protest outside stayed peaceful."),
]


def photo_jpeg(seed: int, size: tuple[int, int] = (3000, 2000)) -> io.BytesIO:
    """A camera-sized JPEG that compresses like a photo: a crowd under a lit ceiling, with
    grain coarse enough to survive the downscaled renditions (a flat synthetic picture would
    make them a tenth of a real photo's bytes: its 960 px WebP is ~100 KB, as a photo's)."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    small = Image.new("RGB", (750, 500))
    draw = ImageDraw.Draw(small)
    for y in range(500):
        shade = 200 - y // 5
        draw.line((0, y, 750, y), fill=(shade, shade - 10, shade - 25))
    for _ in range(900):  # people and chairs: muted, warm colours
        x, y = rng.randrange(-20, 750), rng.randrange(150, 500)
        w, h = rng.randrange(6, 60), rng.randrange(15, 120)
        base = rng.randrange(40, 170)
        colour = (base + rng.randrange(0, 50), base + rng.randrange(0, 30), base)
        draw.ellipse((x, y, x + w, y + h), fill=colour)
    picture = small.filter(ImageFilter.GaussianBlur(0.8)).resize(size, Image.Resampling.BICUBIC)
    grain = Image.effect_noise((size[0] // 3, size[1] // 3), 40)
    grain = grain.resize(size, Image.Resampling.BICUBIC).convert("RGB")
    picture = Image.blend(picture, grain, 0.2)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=90)
    out.seek(0)
    return out


def body_of(age: int) -> str:
    """The body of the entry `age` entries older than the newest."""
    turn = age // EMBED_EVERY
    if age % EMBED_EVERY == 3:
        return EMBEDS[turn % len(EMBEDS)]
    if age % EMBED_EVERY == 1:
        return QUOTES[turn % len(QUOTES)]
    return LINES[age % len(LINES)]


def seed(count: int) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from liveblog.blog import images, services
    from liveblog.blog.models import Event, Image, Membership, PostImage

    # A re-run replaces the event, and its photos' files with it (an image in an entry is
    # protected: the entries' links to them go first).
    old = Image.objects.filter(event__slug=SLUG)
    files = [rendition["name"] for image in old for rendition in image.renditions]
    PostImage.objects.filter(image__in=old).delete()
    old.delete()
    Event.objects.filter(slug=SLUG).delete()
    images.delete(files)
    now = timezone.now()
    event = Event.objects.create(
        slug=SLUG,
        title="Live report: opening ceremony of the conference",
        summary="Speeches, music and the first announcements, as they happen in the main hall.",
        status=Event.Status.LIVE,
        starts_at=now - timedelta(minutes=4 * count + 30),
        timezone="Europe/Paris",
    )
    users = get_user_model().objects
    authors = []
    for username, first, last in [("amina", "Amina", "Diallo"), ("tom", "Tom", "Berger")]:
        user, _ = users.get_or_create(username=username, defaults={"first_name": first})
        user.first_name, user.last_name = first, last
        user.save()
        Membership.objects.get_or_create(event=event, user=user, defaults={"role": "editor"})
        authors.append(user)
    key_every = max(1, count // len(KEY_EVENTS))
    for i in range(count):
        key = i % key_every == key_every // 2 and i // key_every < len(KEY_EVENTS)
        photos = []
        if (count - 1 - i) % PHOTO_EVERY == 0:
            alt, caption = PHOTO_CAPTIONS[(i // PHOTO_EVERY) % len(PHOTO_CAPTIONS)]
            photo = services.image_upload(
                actor=authors[i % 2],
                event=event,
                file=photo_jpeg(i),
                alt=alt,
                caption=caption,
                credit="Photo: Amina Diallo",
            )
            photos.append(photo.pk)
        services.post_publish(
            event=event,
            author=authors[i % 2],
            headline=KEY_EVENTS[i // key_every] if key else "",
            body=body_of(count - 1 - i),
            published_at=now - timedelta(minutes=4 * (count - i) - 3),
            is_key_event=key,
            is_pinned=i == count - 20,
            is_breaking=i == count - 3,
            images=photos,
        )
    # The reader page's summary box and an "Updated" mark (a corrected entry).
    services.event_update(actor=authors[0], event=event, changes={"key_points": KEY_POINTS})
    latest = event.posts.order_by("-published_at").first()
    services.post_update(
        actor=latest.author, post=latest, changes={"body": latest.body + " (Corrected.)"}
    )
    return event.get_absolute_url()


def existing() -> str | None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")
    import django

    django.setup()
    from liveblog.blog.models import Event

    event = Event.objects.filter(slug=SLUG).first()
    return event.get_absolute_url() if event else None


def demo() -> str:
    """`make run`'s demo event (load_demo: idempotent), for the README's first picture."""
    from django.core.management import call_command
    from django.urls import reverse

    from liveblog.blog.management.commands.load_demo import DEMO_SLUG

    call_command("load_demo", stdout=io.StringIO())
    return reverse("reader:event", args=[DEMO_SLUG])


def format_scores(scores: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in scores.items())


def serve(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        # The same key at every run on this database: a page's CSP nonce is derived from
        # it and the page's ETag, and a page cached in Redis by the previous run (under the
        # same ETag, for up to 5 minutes) must carry the nonce this run's headers name.
        "SECRET_KEY": hashlib.sha256(
            f"reader-audit|{os.environ['DATABASE_URL']}".encode()
        ).hexdigest(),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    log = (ROOT / "test-artifacts/reader-audit-server.log").open("w")  # for a failed run
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "liveblog.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not start")


def lighthouse(url: str, preset: str, out: Path) -> dict[str, int]:
    command = [
        "npx", "--yes", LIGHTHOUSE, url, "--quiet", "--output=json", f"--output-path={out}",
        f"--chrome-flags={CHROME_FLAGS}", f"--only-categories={','.join(CATEGORIES)}",
    ]  # fmt: skip
    if preset == "desktop":
        command.append("--preset=desktop")
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM})
    report = json.loads(out.read_text())
    return {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}


# The pictures end under the first embed card: with the header, the aside, the date line, a
# photo, a quote and the breaking entry above it. The viewport is that tall, so that the lazy
# photos above it load as they would for a reader scrolling there.
SHOT_SIZES = {"desktop": (1280, 2400), "mobile": (375, 2600)}
LOADED = """() => [...document.images]
    .filter(image => image.getBoundingClientRect().top < innerHeight)
    .every(image => image.complete && image.naturalWidth > 0)"""


def page_png(shot: bytes, path: Path) -> None:
    """The screenshot in 256 colours: photos' grain makes a full-colour PNG of a page ~1 MB;
    a palette keeps text sharp at a third of that, enough for a README."""
    from PIL import Image

    picture = Image.open(io.BytesIO(shot)).convert("RGB")
    picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def screenshots(url: str, demo_url: str, folder: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    taken = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS.split())
        # The README's first picture: `make run`'s demo event, as a newcomer first sees it.
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.goto(demo_url)
        page.wait_for_selector("[data-live][data-connected=true]")
        page.wait_for_function(LOADED)
        taken.append(folder / "reader.png")
        page_png(page.screenshot(), taken[-1])
        page.close()
        for device, (width, height) in SHOT_SIZES.items():
            for scheme in ("light", "dark"):
                page = browser.new_page(
                    viewport={"width": width, "height": height}, color_scheme=scheme
                )
                page.goto(url)
                page.wait_for_selector("[data-live][data-connected=true]")
                page.wait_for_function(LOADED)
                card = page.locator(".entry .embed").first.bounding_box()
                bottom = min(height, card["y"] + card["height"] + 32) if card else height
                path = folder / f"reader-{device}-{scheme}.png"
                clip = {"x": 0, "y": 0, "width": width, "height": bottom}
                page_png(page.screenshot(clip=clip), path)
                taken.append(path)
                page.close()
        browser.close()
    return taken


def axe(url: str) -> dict[str, list[str]]:
    """axe-core (package-lock.json) on the page, light and dark, 1280 and 375 px: the
    violations' ids by run (an empty list is a clean run)."""
    from playwright.sync_api import sync_playwright

    script = ROOT / "node_modules/axe-core/axe.min.js"
    if not script.exists():
        raise SystemExit(f"{script} is missing: run `npm ci`")
    found = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS.split())
        for width in (1280, 375):
            for scheme in ("light", "dark"):
                # axe is injected as a script: this context alone lifts the CSP to allow it.
                context = browser.new_context(
                    bypass_csp=True, color_scheme=scheme, viewport={"width": width, "height": 900}
                )
                page = context.new_page()
                page.goto(url)
                page.wait_for_selector("[data-live][data-connected=true]")
                page.add_script_tag(path=str(script))
                result = page.evaluate("async () => await axe.run(document)")
                found[f"{width}px {scheme}"] = [
                    f"{v['id']} ({v['nodes'][0]['target']})" for v in result["violations"]
                ]
                context.close()
        browser.close()
    return found


# What Lighthouse 12.2.3 cannot say with this Chromium (its trace-elements gatherer fails,
# so no "LCP element" or "lazy-loaded LCP" audit): the largest paint's element, and the
# layout shift while a reader scrolls through the 50 entries as their lazy photos load.
OBSERVE = """
window.__paints = []; window.__shift = 0;
new PerformanceObserver(list => window.__paints.push(...list.getEntries()))
  .observe({type: 'largest-contentful-paint', buffered: true});
new PerformanceObserver(list => list.getEntries().forEach(e => {
  if (!e.hadRecentInput) window.__shift += e.value;
})).observe({type: 'layout-shift', buffered: true});
"""
LARGEST = """() => {
  const paint = window.__paints.at(-1), el = paint && paint.element;
  if (!el) return 'none';
  const what = el.tagName === 'IMG' ? `img (loading=${el.loading}, `
    + `fetchpriority=${el.fetchPriority}, ${el.currentSrc.split('/').pop()})` : el.tagName;
  return `${what} at ${Math.round(paint.startTime)} ms`;
}"""
SCROLL = """async () => {
  for (let y = 0; y < document.body.scrollHeight; y += innerHeight / 2) {
    scrollTo(0, y);
    await new Promise(done => requestAnimationFrame(() => setTimeout(done, 50)));
  }
  await Promise.all([...document.images].map(image => image.decode().catch(() => null)));
  return window.__shift;
}"""


def paints_and_shifts(url: str) -> dict[str, str]:
    """Lighthouse's two viewports (mobile 412x823, desktop 1350x940): the largest paint,
    and the layout shift once the reader has scrolled to the end (all photos loaded)."""
    from playwright.sync_api import sync_playwright

    found = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS.split())
        for name, (width, height) in {"mobile": (412, 823), "desktop": (1350, 940)}.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.add_init_script(OBSERVE)
            page.goto(url)
            page.wait_for_selector("[data-live][data-connected=true]")
            page.wait_for_function("window.__paints.length > 0")
            largest = page.evaluate(LARGEST)
            shift = page.evaluate(SCROLL)
            found[name] = f"largest paint {largest}; layout shift after scrolling {shift:.3f}"
            page.close()
        browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--no-lighthouse", action="store_true")
    parser.add_argument("--runs", type=int, default=1, help="Lighthouse runs per preset (median)")
    parser.add_argument("--no-axe", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the event a previous run seeded, if any"
    )
    parser.add_argument("--screenshots", type=Path, help="folder for the README screenshots")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL (PostgreSQL) and REDIS_URL.")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    path = existing() if args.reuse else None
    path = path or seed(args.entries)
    server = serve(args.port)
    url = f"http://127.0.0.1:{args.port}{path}"
    try:
        if not args.no_lighthouse:
            out = ROOT / "test-artifacts"
            out.mkdir(exist_ok=True)
            for preset in ("mobile", "desktop"):
                runs = [
                    lighthouse(url, preset, out / f"lighthouse-{preset}-{n}.json")
                    for n in range(args.runs)
                ]
                for n, scores in enumerate(runs):
                    print(f"lighthouse {preset} run {n + 1}: " + format_scores(scores))
                median = {k: statistics.median_low(r[k] for r in runs) for k in CATEGORIES}
                print(f"lighthouse {preset} median of {args.runs}: " + format_scores(median))
        for name, seen in paints_and_shifts(url).items():
            print(f"{name}: {seen}")
        if not args.no_axe:
            for run, violations in axe(url).items():
                print(f"axe {run}: {len(violations)} violations {violations or ''}")
        if args.screenshots:
            demo_url = f"http://127.0.0.1:{args.port}{demo()}"
            for shot in screenshots(url, demo_url, args.screenshots):
                print(f"screenshot: {shot}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
