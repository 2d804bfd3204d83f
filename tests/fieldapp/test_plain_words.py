"""What the technician and the customer read on today's pages: the arrival in words
(R14, R17), time left as a duration or a time of day (R7, R14, R34), no rule ids or
internal names (R26 and the rest stay in the errors' ``rule``), sign-off only once the
report exists (R26, R27)."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from appointments.models import AppointmentStatus, ChangeRequest, Precision
from fieldapp.templatetags.visit import arrival_words
from fieldops import clock
from fieldops.durations import due_in_words
from fieldops.wording import plain
from workorders import services
from workorders.models import State, WorkOrder

from .helpers import on_site_with_report, upload

RULE_ID = re.compile(r"\bR\d+[a-z]?\b")


def visible_text(html: str) -> str:
    """The page's text as read (no tags, comments, scripts or attributes)."""
    html = re.sub(r"<!--.*?-->|<script.*?</script>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def arrive(order: WorkOrder, minutes_from_start: int) -> WorkOrder:
    """Check in ``minutes_from_start`` after the booked start (negative: early)."""
    booked = order.appointments.get(status=AppointmentStatus.BOOKED)
    with time_machine.travel(booked.start + dt.timedelta(minutes=minutes_from_start),
                             tick=False):
        services.work_order_check_in(order=order, by=order.technician.user,
                                     photo=upload())
    return WorkOrder.objects.get(pk=order.pk)


@pytest.mark.parametrize(("minutes", "english", "chinese"), [
    (-51, "early by 51 min", "提前 51 分钟"),
    (-5, "on time", "准时"),
    (8, "on time", "准时"),
    (25, "late by 25 min", "迟到 25 分钟"),
])
def test_the_arrival_reads_early_on_time_or_late_in_words(alice_client: Client, make_order,
                                                          alice, minutes, english, chinese):
    # R14: more than 10 min off the booked time; R17: the check-in time. An early arrival
    # was shown as "迟到 (-51 min)".
    order = arrive(make_order(State.EN_ROUTE, technician=alice), minutes)
    url = reverse("tech:order", args=[order.pk])
    page = alice_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert chinese in page and "-51" not in page
    with translation.override("en"):
        kept = order.appointments.get(status=AppointmentStatus.KEPT)
        assert arrival_words(kept) == english


def test_a_half_day_window_is_late_only_after_its_end():
    # R11, R14: arriving inside a rural half day is on time; after it, late from its end
    tz = timezone.get_current_timezone()
    start = dt.datetime(2026, 12, 7, 8, 0, tzinfo=tz)
    window = {"start": start, "end": start.replace(hour=12),
              "precision": Precision.HALF_DAY}
    with translation.override("en"):
        assert arrival_words(SimpleNamespace(
            **window, arrived_at=start.replace(hour=11, minute=30))) == "on time"
        assert arrival_words(SimpleNamespace(
            **window, arrived_at=start.replace(hour=13, minute=10))) == "late by 1 h 10 min"


def test_time_left_is_a_duration_or_a_time_of_day_never_raw_minutes():
    # R14, R34: "剩余 1018 分钟" read badly; hours and minutes nearby, the time when far off
    tz = timezone.get_current_timezone()
    now = dt.datetime(2026, 12, 6, 16, 2, tzinfo=tz)
    with translation.override("en"):
        assert due_in_words(now + dt.timedelta(minutes=42), now) == "42 min left"
        assert due_in_words(now + dt.timedelta(minutes=298), now) == "4 h 58 min left"
        assert due_in_words(now + dt.timedelta(minutes=1018), now) == "by 09:00 tomorrow"
        assert due_in_words(now + dt.timedelta(days=3), now) == "by 12-09 16:02"
        assert due_in_words(now - dt.timedelta(minutes=35), now) == "overdue 35 min"
    with translation.override("zh-hans"):
        assert due_in_words(now + dt.timedelta(minutes=298), now) == "剩余 4 小时 58 分钟"
        assert due_in_words(now + dt.timedelta(minutes=1018), now) == "明天 09:00 前"


def test_today_shows_the_promise_in_hours_and_minutes(alice_client: Client, make_order,
                                                      alice):
    # R14: a visit booked for tomorrow morning: not "1018 min left"
    order = make_order(State.SCHEDULED, technician=alice)
    booked = order.appointments.get(status=AppointmentStatus.BOOKED)
    with time_machine.travel(booked.start - dt.timedelta(hours=5, minutes=10), tick=False):
        page = alice_client.get(reverse("tech:today"),
                                HTTP_ACCEPT_LANGUAGE="en").content.decode()
    clock_text = re.search(r'data-clock="\w+">([^<]*)<', page).group(1)
    assert re.search(r"5 h \d+ min left", clock_text), clock_text
    assert "R14" not in page and "arrival" not in clock_text


def test_rule_ids_are_taken_out_of_what_people_read():
    # R26: the message keeps its rule in the error; the page shows plain words
    assert plain("Only the customer signs (R26).") == "Only the customer signs."
    assert plain("请客户本人签名（R26）。") == "请客户本人签名。"
    assert plain("预约到半天(R9, R11)，请预约具体时间。") == "预约到半天，请预约具体时间。"
    assert plain("Explain what you did (R31、R32)") == "Explain what you did"
    assert plain("ONU R2D2 and the RJ45 port") == "ONU R2D2 and the RJ45 port"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_no_rule_ids_on_the_technicians_pages_or_the_customers_sign_off(
        alice_client: Client, make_order, alice, language):
    # R26: the sign-off page is handed to the customer; R8, R10, R14, R17 on the others
    contacted = make_order(State.DISPATCHED, technician=alice)
    scheduled = make_order(State.SCHEDULED, technician=alice)
    on_site = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    urls = [reverse("tech:today"), reverse("tech:order", args=[on_site.pk]),
            reverse("tech:order", args=[scheduled.pk])]
    urls += [reverse("tech:step", args=[on_site.pk, name])
             for name in ("sign-off", "photo", "report", "consent", "cant-finish")]
    urls += [reverse("tech:step", args=[contacted.pk, "accept"])]
    services.work_order_accept(order=contacted, by=alice.user)
    urls += [reverse("tech:step", args=[contacted.pk, "contact"])]
    for url in urls:
        response = alice_client.get(url, HTTP_ACCEPT_LANGUAGE=language, follow=True)
        text = visible_text(response.content.decode())
        assert not RULE_ID.findall(text), (url, RULE_ID.findall(text))
        assert "visit_24h" not in text and "sign_off" not in text


def test_a_refused_sign_off_shows_the_reason_without_its_rule_id(alice_client: Client,
                                                                  make_order, alice):
    # R26: the service's message cites the rule; the customer reads plain words
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    url = reverse("tech:step", args=[order.pk, "sign-off"])
    response = alice_client.post(url, {"version": order.version, "signer_name": "张伟",
                                       "rating": "4", "signature": ""},
                                 HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 422
    text = visible_text(response.content.decode())
    assert "errorlist" in response.content.decode()
    assert not RULE_ID.findall(text), RULE_ID.findall(text)


def test_a_stale_page_says_reload_without_versions_or_state_codes(alice_client: Client,
                                                                   make_order, alice):
    # R26: "version 3 is now 4, state on_site" meant nothing to a technician
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    url = reverse("tech:step", args=[order.pk, "cant-finish"])
    tomorrow = clock.today_local() + dt.timedelta(days=1)
    response = alice_client.post(url, {"version": order.version - 1, "reason": "没有光纤",
                                       "promised_day": tomorrow.isoformat(),
                                       "promised_time": "10:00"},
                                 HTTP_ACCEPT_LANGUAGE="en")
    text = visible_text(response.content.decode())
    assert response.status_code == 409, text
    assert "changed while this page was open" in text and "Reload" in text and "on_site" not in text


def test_sign_off_is_offered_only_once_the_report_exists(alice_client: Client, make_order,
                                                         alice):
    # R26, R27: the customer signs the report, so the report comes first
    order = make_order(State.ON_SITE, technician=alice)
    services.work_order_add_photo(order=order, by=alice.user, image=upload(),
                                  kind="speed_test")
    page = alice_client.get(reverse("tech:order", args=[order.pk]),
                            HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-step="sign-off"' not in page and 'data-step="report"' in page
    assert "data-report-first" in page
    response = alice_client.get(reverse("tech:step", args=[order.pk, "sign-off"]),
                                HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert response.redirect_chain and "Write the report first" in response.content.decode()
    assert 'data-signature' not in response.content.decode()
    order = on_site_with_report(order)
    page = alice_client.get(reverse("tech:order", args=[order.pk])).content.decode()
    assert 'data-step="sign-off"' in page and "data-report-first" not in page


def test_the_schedule_page_keeps_the_customers_day_in_zh_hans(alice_client: Client,
                                                              make_order, alice):
    # R10: the customer's wished day is prefilled as the browser's date input reads it
    order = make_order(State.SCHEDULED, technician=alice)
    wish_start = clock.now().replace(second=0, microsecond=0) + dt.timedelta(days=2)
    order.change_requests.create(preferred_start=wish_start,
                                 preferred_end=wish_start + dt.timedelta(hours=1),
                                 source=ChangeRequest.Source.CALL_CENTRE)
    wish = order.change_requests.get()
    url = reverse("tech:step", args=[order.pk, "schedule"]) + f"?change_request={wish.pk}"
    page = alice_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    day = timezone.localtime(wish_start).date().isoformat()
    assert re.search(rf'type="date"[^>]*value="{day}"|value="{day}"[^>]*type="date"', page)
