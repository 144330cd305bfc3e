"""A browser page whose every request is logged, for the tests that assert what readers'
browsers ask of other hosts (embeds: nothing before the click). The providers' hosts answer a
stub page, since this machine is offline, so that a frame really loads after a click."""

import time
from urllib.parse import urlsplit

from tests.e2e.test_csp import WATCH

PROVIDERS = {"www.youtube-nocookie.com", "platform.twitter.com", "open.spotify.com"}
STUB = "<!doctype html><title>Stub player</title><p>A provider's player (stub).</p>"
SANDBOX = (
    "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-presentation"
)


class Recorded:
    """A page whose every request is logged; the providers' hosts answer a stub page."""

    def __init__(self, context):
        self.requests: list[str] = []
        self.console: list[str] = []
        context.route("**/*", self._route)
        self.page = context.new_page()
        self.page.add_init_script(WATCH)
        self.page.on("console", lambda m: self.console.append(m.text))

    def _route(self, route):
        url = route.request.url
        self.requests.append(url)
        if urlsplit(url).hostname in PROVIDERS:
            route.fulfill(status=200, content_type="text/html", body=STUB)
        else:
            route.continue_()

    def wait_until(self, check, timeout: float = 15.0) -> None:
        """Until check() holds. The route handler that logs requests and answers the stub runs
        only while Playwright's sync API is waiting on the browser, so this waits through the
        page (wait_for_timeout), never with time.sleep: a sleep would hold the frame's request
        unanswered and the log unchanged however long it waited."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError("the page did not get there")
            self.page.wait_for_timeout(20)

    def hosts(self) -> set[str]:
        return {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in self.requests}

    def violations(self) -> list[str]:
        found = [self.page.evaluate("window.__violations")]
        found += [f.evaluate("window.__violations || []") for f in self.page.frames[1:]]
        policy = [
            m for m in self.console if "Content Security Policy" in m or "Permissions-Policy" in m
        ]
        return [v for vs in found for v in vs] + policy
