"""R52, the fifth signal: the satisfaction survey answered through the customer's link from
the technician's own device or network. The technician's steps and the answer keep only
keyed hashes of the network prefix (/24, /48), the device cookie the technician pages set
and the browser (fieldops/origin.py); the answer is posted through the real survey page."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from fieldops import clock, origin
from fieldops.origin import DEVICE_COOKIE
from quality import sampling
from quality.models import Inspection, InspectionPolicy, RequestOrigin, Signal, SignalKind
from surveys import links
from surveys.models import Survey, SurveyStatus
from surveys.services import work_order_start_survey
from workorders.models import State

from .helpers import complete

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (Linux; Android 14; technician's phone)"
DEVICE = "tech-phone-0123456789abcdef"


@pytest.fixture
def morning():
    day = clock.today_local() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=clock.now().astimezone().tzinfo)


def completed_from(make_order, technician, at, *, address="203.0.113.7", device=DEVICE):
    """An order whose steps were all sent from ``address`` (and the phone's cookie)."""
    request = RequestFactory().get("/tech/", REMOTE_ADDR=address, HTTP_USER_AGENT=PHONE)
    if device:
        request.COOKIES[DEVICE_COOKIE] = device
    with origin.serving(request):
        order = complete(make_order, technician, check_in_at=at)
    work_order_start_survey(order=order)
    return order


def answer(order, *, at, address, device="", agent="Mozilla/5.0 (iPhone) customer"):
    survey = Survey.objects.get(order=order, status=SurveyStatus.PENDING)
    client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    if device:
        client.cookies[DEVICE_COOKIE] = device
    with time_machine.travel(at, tick=False):
        response = client.post(reverse("survey:answer", args=[links.token_for(survey)]), {
            "satisfied": "yes", "punctuality": "5", "conduct": "5", "result": "5"})
    assert response.status_code == 302, response.content.decode()[:500]


def signals(order) -> list[Signal]:
    return list(Signal.objects.filter(order=order, kind=SignalKind.SURVEY_FROM_TECHNICIAN))


def test_a_survey_answered_from_the_technicians_network_is_signalled_and_inspected(
        make_order, alice, morning):
    # R52: same /24 as the check-in and sign-off (another host in it), 3 minutes after
    # completion; the order answered from another network raises nothing.
    suspect = completed_from(make_order, alice, morning)
    clean = completed_from(make_order, alice, morning + dt.timedelta(hours=2))
    done = suspect.completed_at
    answer(suspect, at=done + dt.timedelta(minutes=3), address="203.0.113.200")
    answer(clean, at=clean.completed_at + dt.timedelta(hours=3), address="198.51.100.23")

    stored = RequestOrigin.objects.get(survey__order=suspect)
    assert len(stored.network) == 32 and "203.0.113" not in stored.network  # a keyed hash
    assert not RequestOrigin.objects.filter(network__contains="203.").exists()

    sampling.run_day(timezone.localdate(done))
    (signal,) = signals(suspect)
    assert signals(clean) == []
    assert signal.evidence["matched"] == "network"
    assert signal.evidence["minutes_after_completion"] == 3
    assert signal.evidence["step"] in {"check_in", "sign_off", "complete", "save_report"}
    inspection = Inspection.objects.get(order=suspect)
    assert inspection.reason in {"signal", "both"} and signal.inspection == inspection
    with translation.override("en"):
        words = signal.describe()
    assert words.startswith("Survey answered from the network the technician used for")
    assert "3 min after completion" in words and "24 hours" in words
    assert "203.0.113" not in words


def test_the_technicians_device_cookie_matches_from_any_network_and_late(
        make_order, alice, morning, client, inspector):
    # R52: the day was sampled before the answer came: the order is inspected at once.
    # The phone's cookie matches whatever network the answer came through.
    order = completed_from(make_order, alice, morning, address="2001:db8:7:1::5")
    sampling.run_day(timezone.localdate(order.completed_at))
    answer(order, at=order.completed_at + dt.timedelta(hours=5), address="192.0.2.9",
           device=DEVICE, agent=PHONE)
    (signal,) = signals(order)
    assert signal.evidence["matched"] == "device" and signal.evidence["same_browser"]
    assert signal.inspection is not None and signal.inspection.order_id == order.pk
    # The inspector reads it in words on the inspection's page, no hash and no address.
    client.force_login(inspector)
    page = client.get(reverse("admin:quality_inspection_decide", args=[signal.inspection.pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Survey answered from the device the technician used for" in page
    assert "with the same browser" in page and "192.0.2" not in page
    assert signal.evidence.get("matched") == "device" and DEVICE not in page


def test_the_window_is_the_policys(make_order, alice, morning):
    # R52: a step more hours away from the answer than the policy says is not compared.
    policy = InspectionPolicy.objects.get(area__isnull=True)
    policy.survey_origin_window_hours = 2
    policy.save()
    order = completed_from(make_order, alice, morning)
    answer(order, at=order.completed_at + dt.timedelta(hours=3), address="203.0.113.8")
    sampling.run_day(timezone.localdate(order.completed_at))
    assert signals(order) == []


@pytest.mark.parametrize(("address", "prefix"), [
    ("203.0.113.77", "203.0.113.0/24"), ("::ffff:203.0.113.77", "203.0.113.0/24"),
    ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"), ("not an address", "")])
def test_the_network_kept_is_the_prefix(address, prefix):
    assert origin.network_prefix(address) == prefix


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_the_client_address_behind_the_proxy_is_the_one_the_proxy_saw():
    # The left of X-Forwarded-For is the client's own claim; the proxy's hop is used.
    request = RequestFactory().get("/s/x/", REMOTE_ADDR="10.0.0.2",
                                   HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    seen = origin.of_request(request)
    assert seen.network == origin.keyed_hash("net", "203.0.113.0/24")
    assert seen.device == ""


def test_the_technician_pages_give_the_phone_a_device_cookie(alice_client):
    response = alice_client.get(reverse("tech:today"))
    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["path"] == "/" and cookie["httponly"] and len(cookie.value) >= 16
    again = alice_client.get(reverse("tech:today"))
    assert DEVICE_COOKIE not in again.cookies  # kept, not renewed on every page


def test_a_step_replayed_from_the_phone_keeps_its_origin_at_the_phones_time(
        make_order, alice, alice_client):
    # R52 with issue 16: the replay's request is where the step came from; its time is
    # the phone's. Another user's steps on the order are not the technician's.
    with time_machine.travel(clock.now() - dt.timedelta(hours=2), tick=False):
        order = make_order(State.PREPARED, technician=alice)
    done = clock.now() - dt.timedelta(minutes=30)
    response = alice_client.post("/api/v1/field/steps/", data={
        "client_id": str(uuid.uuid4()), "order": order.pk, "step": "depart",
        "phone_at": done.isoformat(), "phone_sent_at": clock.now().isoformat(),
        "version": order.version}, REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT=PHONE)
    assert response.status_code == 200, response.content
    (row,) = RequestOrigin.objects.filter(order=order)
    assert row.technician == alice and row.survey is None and row.action == "depart"
    assert abs(row.at - done) < dt.timedelta(seconds=2)
    assert row.network == origin.keyed_hash("net", "203.0.113.0/24")
    assert row.device and row.browser == origin.keyed_hash("agent", PHONE)


# --- Issue 17: answers recorded by a callback or through the API ----------------------
#
# A callback's answer is typed by a call-centre agent, an API answer sent by the
# call-centre's system; what can honestly be compared is who recorded it (the order's own
# technician) and the device it was typed on (the technician's phone cookie). The network
# is not compared: it is the office's or the server's, which technicians share too.


def _due_callback(order):
    from surveys.models import Callback
    from surveys.services import callbacks_open_due

    due = Survey.objects.get(order=order, status=SurveyStatus.PENDING).callback_due_at
    with time_machine.travel(due + dt.timedelta(minutes=1), tick=False):
        callbacks_open_due()
    return Callback.objects.get(order=order), due + dt.timedelta(minutes=5)


def _wide_window(hours=24 * 7):
    policy = InspectionPolicy.objects.get(area__isnull=True)
    policy.survey_origin_window_hours = hours
    policy.save()


def test_a_callback_recorded_on_the_technicians_phone_is_signalled(
        make_order, alice, agent, morning):
    # R52/R30: the agent records the callback in the desk from the phone that carries
    # the technician's device cookie; the day was sampled already, so it is found at once.
    _wide_window()
    order = completed_from(make_order, alice, morning)
    sampling.run_day(timezone.localdate(order.completed_at))
    callback, at = _due_callback(order)
    desk = Client(REMOTE_ADDR="192.0.2.50", HTTP_USER_AGENT=PHONE)
    desk.cookies[DEVICE_COOKIE] = DEVICE
    with time_machine.travel(at, tick=False):
        desk.force_login(agent)  # a staff session idles out: logged in at the time
        response = desk.post(reverse("admin:surveys_callback_record", args=[callback.pk]), {
            "satisfied": "yes", "punctuality": "5", "conduct": "5", "result": "5"})
    assert response.status_code == 302, response.content.decode()[:500]
    assert Survey.objects.get(order=order).channel == "callback"
    stored = RequestOrigin.objects.get(survey__order=order)
    assert stored.device and stored.network == ""  # the office's network is not kept
    (signal,) = signals(order)
    assert signal.evidence["matched"] == "device"
    assert signal.evidence["channel"] == "callback" and signal.evidence["same_browser"]
    assert signal.inspection is not None
    with translation.override("en"):
        words = signal.describe()
    assert words.startswith("Survey answer recorded (Manual callback) from the device the "
                            "technician used for")
    assert DEVICE not in words and "192.0.2" not in words


def test_a_recorded_answer_from_the_technicians_network_is_not_compared(
        make_order, alice, morning):
    # R52: the call-centre's system (a token, no cookie) sends the answer from the network
    # the technician used for the steps: a shared network says nothing of who answered.
    from api import services as api_services
    from api.models import ClientRole

    _wide_window()
    order = completed_from(make_order, alice, morning, address="198.51.100.7")
    callback, at = _due_callback(order)
    client = api_services.api_client_create(name="10010", role=ClientRole.CALL_CENTRE)
    _token, plain = api_services.api_token_issue(client=client)
    server = Client(REMOTE_ADDR="198.51.100.9", HTTP_USER_AGENT="callcentre/1.0")
    with time_machine.travel(at, tick=False):
        response = server.post(f"/api/v1/callbacks/{callback.pk}/result/",
                               '{"satisfied": true}', content_type="application/json",
                               headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200, response.content
    assert Survey.objects.get(order=order).channel == "api"
    row = RequestOrigin.objects.get(survey__order=order)
    assert row.network == "" and row.device == ""
    sampling.run_day(timezone.localdate(order.completed_at))
    assert signals(order) == []


def test_an_answer_recorded_by_the_orders_own_technician_is_signalled(
        make_order, alice, agent, morning):
    # R52/R30: the technician also works the call-centre desk (a small contractor) and
    # records their own order's survey through the API with their session: whatever the
    # window, network or device, the recorder is the evidence.
    from django.contrib.auth.models import Group

    from fieldops import roles

    order = completed_from(make_order, alice, morning)
    alice.user.groups.add(Group.objects.get(name=roles.CALL_CENTRE))
    callback, at = _due_callback(order)
    at = max(at, order.completed_at + dt.timedelta(hours=30))  # past the 24 h window
    phone = Client(REMOTE_ADDR="192.0.2.77", HTTP_USER_AGENT="desk browser")
    with time_machine.travel(at, tick=False):
        phone.force_login(alice.user)
        response = phone.post(f"/api/v1/callbacks/{callback.pk}/result/",
                              '{"satisfied": true}', content_type="application/json")
    assert response.status_code == 200, response.content
    sampling.run_day(timezone.localdate(order.completed_at))
    (signal,) = signals(order)
    assert signal.evidence["matched"] == "recorder" and signal.evidence["channel"] == "api"
    assert "step" not in signal.evidence
    with translation.override("en"):
        words = signal.describe()
    assert words.startswith("Survey answer recorded (Call-centre API) by the order's own "
                            "technician: recorded ")
    # An agent recording the same answer the same way is no evidence (the control).
    other = completed_from(make_order, alice, morning + dt.timedelta(hours=1))
    callback, at = _due_callback(other)
    desk = Client(REMOTE_ADDR="192.0.2.77", HTTP_USER_AGENT="desk browser")
    with time_machine.travel(max(at, other.completed_at + dt.timedelta(hours=30)),
                             tick=False):
        desk.force_login(agent)
        response = desk.post(f"/api/v1/callbacks/{callback.pk}/result/",
                             '{"satisfied": true}', content_type="application/json")
    assert response.status_code == 200, response.content
    assert RequestOrigin.objects.filter(survey__order=other).exists()
    sampling.run_day(timezone.localdate(other.completed_at))  # a new day, or already run
    assert signals(other) == []
