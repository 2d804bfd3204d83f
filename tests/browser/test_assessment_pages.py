"""The technician's assessment month and appeal on a phone, in real Chromium (R53, R41):
from Today to the month, an appeal with a photo, large targets, no rule ids shown, no
Content-Security-Policy violation (the ``phone`` fixture)."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from assessment.models import Appeal, AppealPhoto, EntryKind

from ..assessment.helpers import entry
from ..fieldapp.helpers import jpeg

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_technician_appeals_an_entry_from_the_phone(phone, shots, alice, bob, tmp_path):
    # R53, R41
    now = timezone.now()
    mine = entry(alice, kind=EntryKind.BREACH_ARRIVAL, source="1", at=now)
    entry(bob, source="2", at=now)
    photo = tmp_path / "sms.jpg"
    photo.write_bytes(jpeg(1200, 900))
    page = phone
    page.goto("/tech/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/tech/$"))
    with page.expect_navigation():
        page.click("a[href='/tech/assessment/']")
    shots("month")
    cards = page.locator("[data-entry]")
    assert cards.count() == 1  # only mine (R41)
    text = page.inner_text("main")
    assert mine.reason in text and not re.search(r"\bR\d+\b", text)  # no rule ids
    link = page.locator(f"[data-entry='{mine.pk}'] a.btn")
    assert link.bounding_box()["height"] >= 44  # one thumb
    with page.expect_navigation():
        link.click()
    page.fill("#id_text", "客户改约, 短信截图为证")
    page.set_input_files("#id_photos", str(photo))
    shots("appeal")
    with page.expect_navigation():
        page.click("button[data-submit]")
    shots("appealed")
    assert page.locator(".messages li").count() == 1
    assert page.locator(f"[data-entry='{mine.pk}'] .status").count() == 1
    appeal = Appeal.objects.get(entry=mine)
    assert AppealPhoto.objects.filter(appeal=appeal).count() == 1
