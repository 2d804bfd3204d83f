"""Browser tests: Debian's Chromium driven by Playwright at a phone viewport, against a
live server. Screenshots of every step go to ``test-artifacts/browser/`` (gitignored).

Playwright's sync API runs an event loop in this thread, which makes Django refuse
database access from it unless DJANGO_ALLOW_ASYNC_UNSAFE is set; the tests only drive
the browser and read the database between steps, so that is safe here. The variable is
set only while the browser runs (one per module), so no other test (nor the deploy check
a test runs in a subprocess) sees it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
#: A phone in portrait (iPhone 12-15 class), in Beijing, with the location granted.
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "geolocation": {"latitude": 39.9087, "longitude": 116.3975, "accuracy": 12},
    "permissions": ["geolocation"],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = ("Debian's chromium is not installed (apt-get install -y "
                   "--no-install-recommends chromium fonts-noto-cjk)")
        if os.environ.get("FIELDOPS_REQUIRE_SERVICES", "") in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                  args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def watch_csp(page: Any) -> list[str]:
    """The Content-Security-Policy violations Chromium logs on ``page`` from now on (it
    logs each one to the console: "Refused to execute inline script ...")."""
    violations: list[str] = []

    def heard(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", heard)
    return violations


def open_page(browser: Any, live_server: Any, options: dict[str, Any], *,
              timeout_ms: int = 15_000, page_errors: bool = False) -> Iterator[Any]:
    """A fresh browser context (no cookies, no cache) on the live server, as ``options``
    say; fails the test if a page broke the Content-Security-Policy (or, with
    ``page_errors``, raised an uncaught script error)."""
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    violations = watch_csp(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not violations, violations
    if page_errors:
        assert not errors, errors


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh phone browser (no cookies, no cache) on the live server. A test fails if
    any page it opened broke the Content-Security-Policy."""
    yield from open_page(browser, live_server, PHONE, timeout_ms=10_000)


class Shots:
    """Numbered screenshots of one test's steps."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.folder = ARTIFACTS / re.sub(r"[^\w-]", "_", name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.n = 0

    def __call__(self, step: str, *, full_page: bool = True) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


DESK = {
    "viewport": {"width": 1440, "height": 900},
    "device_scale_factor": 1,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


@pytest.fixture
def desk(browser: Any, live_server: Any) -> Iterator[Any]:
    """A dispatcher's desk screen (the console's pages); fails on any CSP violation."""
    yield from open_page(browser, live_server, DESK)


#: Where a finger goes on the signature pad, as fractions of its width and height.
SIGNATURE_STROKE = ((0.2, 0.2), (0.35, 0.8), (0.5, 0.25), (0.7, 0.75), (0.9, 0.3))


def draw_signature(page: Any, points: tuple[tuple[float, float], ...] = SIGNATURE_STROKE,
                   *, steps: int = 8, slowing: int = 0) -> None:
    """The customer signs the pad with one stroke through ``points`` (R26); each segment
    takes ``steps`` mouse moves, ``slowing`` more than the one before (a slower hand)."""
    pad = page.locator("canvas[data-signature]")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for i, (dx, dy) in enumerate(points):
        page.mouse.move(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy,
                        steps=steps + slowing * i)
    page.mouse.up()


def log_in(page: Any, user: Any, url: str = "/admin/") -> None:
    """Through the real login page (the demo's and the tests' passwords are pw-NAME)."""
    page.goto("/admin/login/?next=" + url)
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username)
    page.click("input[type=submit]")


@pytest.fixture
def shots(phone: Any, request: pytest.FixtureRequest) -> Shots:
    return Shots(phone, request.node.name)


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Accessibility problems axe-core finds on ``page`` at these impacts, as
    ``rule: help (n nodes, first: selector)``. axe-core is pinned in npm.toml (a test tool,
    not served); it is evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not govern, so the page itself loads nothing extra."""
    from django.conf import settings

    from fieldops import npm

    package = npm.load(settings.BASE_DIR)["axe-core"]
    source = (npm.ensure(package, settings.BASE_DIR) / "axe.min.js").read_text(encoding="utf-8")
    page.evaluate(source)
    # Colours still running their CSS transitions (the admin's links fade in 0.15 s after a
    # theme change) would be measured half-way: wait for every running animation first.
    page.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"],
            rules: {"target-size": {enabled: true}}});  // WCAG 2.2: 24 px targets
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           nodes: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes, first: {v['nodes'][0]})"
            for v in found if v["impact"] in impacts]
