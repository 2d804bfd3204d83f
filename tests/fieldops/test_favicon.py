"""Every face has the product's icon (issue 18 #11): no 404 for /favicon.ico."""

from __future__ import annotations

from typing import Any

import pytest
from django.templatetags.static import static

ICON = static("tech/icon-192.png")


def test_favicon_ico_leads_to_the_icon(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == ICON


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/dashboard/", "/tech/login/"])
def test_each_face_links_the_icon(client: Any, path: str) -> None:
    response = client.get(path, follow=True)
    assert f'<link rel="icon" href="{ICON}">' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/c/not-a-token/", "/s/not-a-token/"])
def test_the_customer_pages_link_the_icon(client: Any, path: str) -> None:
    # the appointment link (R10) and the survey (R29)
    response = client.get(path)
    assert f'<link rel="icon" href="{ICON}">' in response.content.decode()
