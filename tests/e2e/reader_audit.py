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
import json
import os
import secrets
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


def seed(count: int) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from liveblog.blog import services
    from liveblog.blog.models import Event, Membership

    Event.objects.filter(slug=SLUG).delete()
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
        services.post_publish(
            event=event,
            author=authors[i % 2],
            headline=KEY_EVENTS[i // key_every] if key else "",
            body=LINES[i % len(LINES)],
            published_at=now - timedelta(minutes=4 * (count - i) - 3),
            is_key_event=key,
            is_pinned=i == count - 20,
            is_breaking=i == count - 3,
        )
    # The reader page's summary box and an "Updated" mark (a corrected entry).
    services.event_update(actor=authors[0], event=event, changes={"key_points": KEY_POINTS})
    latest = event.posts.order_by("-published_at").first()
    services.post_update(
        actor=latest.author, post=latest, changes={"body": latest.body + " (Corrected.)"}
    )
    return event.get_absolute_url()


def serve(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "liveblog.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
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


def screenshots(url: str, folder: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    taken = []
    sizes = {"desktop": (1280, 1000), "mobile": (375, 812)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS.split())
        for device, (width, height) in sizes.items():
            for scheme in ("light", "dark"):
                page = browser.new_page(
                    viewport={"width": width, "height": height}, color_scheme=scheme
                )
                page.goto(url)
                page.wait_for_selector("[data-live][data-connected=true]")
                path = folder / f"reader-{device}-{scheme}.png"
                page.screenshot(path=str(path))
                taken.append(path)
                page.close()
        browser.close()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--no-lighthouse", action="store_true")
    parser.add_argument("--screenshots", type=Path, help="folder for the README screenshots")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL (PostgreSQL) and REDIS_URL.")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    path = seed(args.entries)
    server = serve(args.port)
    url = f"http://127.0.0.1:{args.port}{path}"
    try:
        if not args.no_lighthouse:
            out = ROOT / "test-artifacts"
            out.mkdir(exist_ok=True)
            for preset in ("mobile", "desktop"):
                scores = lighthouse(url, preset, out / f"lighthouse-{preset}.json")
                print(f"lighthouse {preset}: " + ", ".join(f"{k} {v}" for k, v in scores.items()))
        if args.screenshots:
            for shot in screenshots(url, args.screenshots):
                print(f"screenshot: {shot}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
