"""The customer's pages in plain words and with dates the browser keeps: no rule ids
(R10, R29 are for the desk), a refused wish re-shows its day as ``2026-12-06`` (the
browser drops ``2026/12/06``), and the technician's number is a real target to tap."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from appointments import services as booking_services
from fieldops import clock
from workorders.models import State

from ..fieldapp.helpers import in_hours

RULE_ID = re.compile(r"\bR\d+[a-z]?\b")


def visible_text(html: str) -> str:
    html = re.sub(r"<!--.*?-->|<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def booked_order(make_order, alice):
    order = make_order(State.CONTACTED, technician=alice)
    return booking_services.work_order_schedule(order=order, by=alice.user, start=in_hours(3),
                                                end=in_hours(4))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_appointment_page_speaks_plain_words(booked_order, customer, language):
    # R10
    page = customer.client.get(customer.link_path(booked_order),
                               HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert not RULE_ID.findall(visible_text(page))
    assert re.search(r'<a class="tel" href="tel:[^"]+" data-call-technician>', page)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_refused_wish_keeps_its_day_in_the_date_input(booked_order, customer, language):
    # R10: a time in the past is refused; the day typed comes back as the browser reads it
    yesterday = clock.today_local() - dt.timedelta(days=1)
    response = customer.client.post(customer.link_path(booked_order), {
        "action": "change", "day": yesterday.isoformat(), "time": "10:00"},
        HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 422
    page = response.content.decode()
    assert f'value="{yesterday.isoformat()}"' in page
    assert "errorlist" in page and not RULE_ID.findall(visible_text(page))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_survey_page_speaks_plain_words(make_order, alice, customer, language):
    # R29
    order = make_order(State.SURVEY_PENDING, technician=alice)
    page = customer.client.get(customer.link_path(order),
                               HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert "data-survey" in page and not RULE_ID.findall(visible_text(page))
    assert "<style>" not in page  # styles come from the stylesheet (CSP)
