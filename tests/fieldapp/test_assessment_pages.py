"""The technician's month and appeal pages (R53): only their own entries (R41), an appeal
with text and photos, refusals shown with their message."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from assessment.models import Appeal, AppealPhoto, EntryKind
from tests.assessment.helpers import entry

from .helpers import upload

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=SH)

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_today_links_to_my_assessment(alice_client, at_t0):
    page = alice_client.get(reverse("tech:today")).content.decode()
    assert reverse("tech:assessment") in page


def test_the_technician_sees_only_their_own_month(alice, bob, alice_client, at_t0):
    # R41, R53: each entry with its reason; bob's entries are not on alice's page
    mine = entry(alice, source="1", at=T0)
    theirs = entry(bob, source="2", at=T0)
    page = alice_client.get(reverse("tech:assessment") + "?month=2026-11")
    assert page.status_code == 200
    text = page.content.decode()
    assert f'data-entry="{mine.pk}"' in text and mine.reason in text
    assert f'data-entry="{theirs.pk}"' not in text
    assert reverse("tech:assessment_appeal", args=[mine.pk]) in text
    # Someone else's entry cannot be opened or appealed (R41): 404, nothing written.
    url = reverse("tech:assessment_appeal", args=[theirs.pk])
    assert alice_client.get(url).status_code == 404
    assert alice_client.post(url, {"text": "x"}).status_code == 404
    assert not Appeal.objects.exists()


def test_office_staff_do_not_get_the_technician_pages(client, dispatcher, at_t0):
    # R41: the technician pages are for technicians
    client.force_login(dispatcher)
    assert client.get(reverse("tech:assessment")).status_code == 403


def test_an_appeal_with_text_and_photos_from_the_phone(alice, alice_client, at_t0):
    # R53
    e = entry(alice, kind=EntryKind.BREACH_ARRIVAL, source="3", at=T0)
    url = reverse("tech:assessment_appeal", args=[e.pk])
    assert alice_client.get(url).status_code == 200
    response = alice_client.post(url, {"text": "客户改了时间, 见截图",
                                       "photos": [upload(), upload()]})
    assert response.status_code == 302
    appeal = Appeal.objects.get(entry=e)
    assert AppealPhoto.objects.filter(appeal=appeal).count() == 2
    page = alice_client.get(reverse("tech:assessment")).content.decode()
    assert url not in page  # appealed: no second appeal offered
    # A second appeal is refused with its message, nothing written (R53).
    again = alice_client.post(url, {"text": "再来一次"})
    assert again.status_code == 422
    assert Appeal.objects.count() == 1


def test_an_appeal_after_the_window_is_refused_on_the_page(alice, alice_client, at_t0):
    # R53
    e = entry(alice, source="4", at=T0)
    at_t0.shift(dt.timedelta(days=8))
    page = alice_client.get(reverse("tech:assessment") + "?month=2026-11").content.decode()
    assert reverse("tech:assessment_appeal", args=[e.pk]) not in page
    response = alice_client.post(reverse("tech:assessment_appeal", args=[e.pk]),
                                 {"text": "晚了", "photos": [upload()]})
    assert response.status_code == 422
    assert not Appeal.objects.exists() and not AppealPhoto.objects.exists()
