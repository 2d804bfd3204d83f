"""Every page carries a Content-Security-Policy that runs only our own scripts.

Defect covered (issue 18, item 6): no page sent a Content-Security-Policy. The browser
tests (tests/browser) check that no page breaks under it (no violation logged).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _policy(response: Any) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {d[0]: d[1:] for d in directives}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/admin/login/", "/tech/login/", "/api/v1/docs/",
                                 "/api/v1/schema/", "/dashboard/", "/c/not-a-token/"])
def test_every_page_sends_a_policy_that_refuses_inline_scripts(url: str) -> None:
    policy = _policy(Client().get(url))
    assert policy, f"{url}: no Content-Security-Policy"
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert not any(s.startswith(("http", "*")) for s in policy["script-src"])
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]


def test_our_templates_have_no_inline_script_or_event_handler() -> None:
    # An inline script runs only with the request's nonce; an on*="..." attribute never.
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert ("src=" in tag or "application/json" in tag
                    or "csp_nonce" in tag), f"{path}: inline {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path}: inline event handler"


@pytest.mark.django_db
def test_the_api_docs_load_their_start_up_script_as_a_file() -> None:
    page = Client().get("/api/v1/docs/").content.decode()
    assert re.search(r'<script src="[^"]*\?[^"]*script', page)
    assert not re.search(r"<script>\s*\S", page)
