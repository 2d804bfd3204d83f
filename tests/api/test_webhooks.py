"""Webhooks: registered by a client, fed from the outbox in the event's transaction,
signed (Standard Webhooks, and the earlier X-Fieldops-Signature), retried with backoff,
visible with their status."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import secrets
import threading
import uuid

import pytest
import time_machine
from standardwebhooks import Webhook, WebhookVerificationError

from api import services as api_services
from api import webhooks
from api.models import WebhookDelivery, WebhookEndpoint
from fieldops import clock
from notifications import delivery as outbox
from notifications.models import Notification, Status
from workorders import services


@pytest.fixture
def received(monkeypatch):
    """Deliveries captured instead of sent; set ``answer`` to choose the HTTP status."""
    class Calls(list):
        transport = None

    calls = Calls()

    def transport(url, body, headers, timeout):
        calls.append({"url": url, "body": body, "headers": headers})
        return transport.answer

    transport.answer = 200
    monkeypatch.setattr(webhooks, "transport", transport)
    calls.transport = transport
    return calls


@pytest.fixture
def endpoint(call_centre):
    return api_services.webhook_endpoint_create(client=call_centre,
                                                url="https://cc.example.com/hooks")


def test_a_client_registers_an_https_endpoint_and_sees_the_secret_once(cc):
    response = cc.post("webhooks/", {"url": "https://cc.example.com/hooks",
                                     "event_types": ["order.state_changed", "sla.breached"]})
    assert response.status_code == 201, response.body
    assert response.body["secret"].startswith("whsec_")
    listed = cc.get("webhooks/").body
    assert listed[0]["event_types"] == ["order.state_changed", "sla.breached"]
    assert "secret" not in listed[0]


@pytest.mark.parametrize(("url", "status"), [
    ("http://cc.example.com/hooks", 422), ("https://user:pw@cc.example.com/", 422),
    ("not a url", 422), (42, 400), ("https://10.1.2.3/h", 422), ("https://127.0.0.1/h", 422),
    ("https://[::1]/h", 422), ("https://169.254.169.254/latest", 422),
    ("https://localhost/h", 422)])
def test_only_https_urls_without_credentials_are_accepted(cc, url, status):
    response = cc.post("webhooks/", {"url": url})
    assert response.status_code == status
    assert not WebhookEndpoint.objects.exists()


def test_unknown_event_types_are_refused(cc):
    response = cc.post("webhooks/", {"url": "https://x.example/h", "event_types": ["order.eaten"]})
    assert response.status_code == 400


def test_a_client_disables_its_endpoint_and_cannot_touch_others(cc, bi, endpoint, reporting):
    other = api_services.webhook_endpoint_create(client=reporting, url="https://bi.example/h")
    assert cc.delete(f"webhooks/{other.pk}/").status_code == 404
    assert cc.delete(f"webhooks/{endpoint.pk}/").status_code == 204
    endpoint.refresh_from_db()
    assert not endpoint.is_active


def test_an_order_event_is_delivered_signed_after_commit(
        endpoint, received, make_order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = make_order()
    assert len(received) == 1
    call = received[0]
    assert call["url"] == "https://cc.example.com/hooks"
    assert call["headers"]["X-Fieldops-Event"] == "order.created"
    payload = json.loads(call["body"])
    assert payload["type"] == "order.created"
    assert payload["data"]["order"]["id"] == order.pk
    assert payload["data"]["event"]["action"] == "create"
    assert payload["data"]["event"]["received_at"] is None  # recorded as it happened
    assert webhooks.verify(endpoint.secret, call["body"],
                           call["headers"]["X-Fieldops-Signature"])
    delivery = WebhookDelivery.objects.get()
    assert delivery.notification.status == Status.SENT


def test_a_step_done_offline_is_delivered_with_both_times(
        endpoint, received, make_order, alice, django_capture_on_commit_callbacks):
    # Issue 16: checked in at 10:02 with no signal, sent at 10:40.
    from workorders.models import State
    from workorders.offline import QueuedStep, replay

    start = dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        order = make_order(State.EN_ROUTE, technician=alice)
        traveller.move_to(start + dt.timedelta(minutes=40))
        with django_capture_on_commit_callbacks(execute=True):
            replay(QueuedStep(uuid.uuid4(), order.pk, "check-in", start + dt.timedelta(
                minutes=2), start + dt.timedelta(minutes=40), order.version, None),
                by=alice.user,
                run=lambda o: services.work_order_check_in(order=o, by=alice.user))
    [event] = [e for e in (json.loads(c["body"])["data"]["event"] for c in received)
               if e["action"] == "check_in"]
    assert dt.datetime.fromisoformat(event["at"]) == start + dt.timedelta(minutes=2)
    assert dt.datetime.fromisoformat(event["received_at"]) == start + dt.timedelta(minutes=40)


def test_the_signature_fails_for_another_body_secret_or_an_old_timestamp(endpoint):
    body = b'{"id":"event-1"}'
    now = clock.now().timestamp()
    header = webhooks.sign(endpoint.secret, body, int(now))
    assert webhooks.verify(endpoint.secret, body, header, now=now)
    assert not webhooks.verify(endpoint.secret, body + b" ", header, now=now)
    assert not webhooks.verify("whsec_other", body, header, now=now)
    # a replay ten minutes later is refused
    assert not webhooks.verify(endpoint.secret, body, header, now=now + 600)
    assert not webhooks.verify(endpoint.secret, body, "t=abc,v1=00", now=now)


def test_an_endpoint_gets_only_the_event_types_it_asked_for(call_centre, received, make_order,
                                                            agent,
                                                            django_capture_on_commit_callbacks):
    api_services.webhook_endpoint_create(client=call_centre, url="https://cc.example/h",
                                         event_types=["order.state_changed"])
    with django_capture_on_commit_callbacks(execute=True):
        order = make_order()
    assert received == []
    with django_capture_on_commit_callbacks(execute=True):
        services.work_order_cancel(order=order, by=agent, reason="客户取消")
    assert [c["headers"]["X-Fieldops-Event"] for c in received] == ["order.state_changed"]
    assert json.loads(received[0]["body"])["data"]["event"]["to_state"] == "cancelled"


def test_a_rolled_back_change_sends_nothing(endpoint, received, make_order, agent):
    from django.db import transaction

    order = make_order()
    Notification.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.work_order_cancel(order=order, by=agent, reason="x")
        raise RuntimeError
    assert not Notification.objects.exists() and not WebhookDelivery.objects.exists()


def test_a_failing_receiver_is_retried_with_backoff_then_succeeds(endpoint, received,
                                                                   make_order):
    received.transport.answer = 503
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        make_order()
        note = Notification.objects.get(channel="webhook")
        assert outbox.deliver(note.pk) == "retry"
        note.refresh_from_db()
        assert note.status == Status.PENDING and "503" in note.last_error
        assert note.next_attempt_at == start + dt.timedelta(seconds=outbox.BACKOFF[0])
        assert outbox.deliver(note.pk) == "skipped"  # not due yet
        traveller.shift(dt.timedelta(seconds=outbox.BACKOFF[0]))
        received.transport.answer = 204
        assert outbox.deliver(note.pk) == "sent"
    first, last = received[0], received[-1]
    # the same delivery id on every attempt (receivers de-duplicate), a fresh signature
    assert first["headers"]["X-Fieldops-Delivery"] == last["headers"]["X-Fieldops-Delivery"]
    assert first["headers"]["X-Fieldops-Signature"] != last["headers"]["X-Fieldops-Signature"]
    assert first["headers"]["webhook-id"] == last["headers"]["webhook-id"]
    assert first["headers"]["webhook-timestamp"] < last["headers"]["webhook-timestamp"]


def test_a_disabled_endpoint_gets_nothing_new(endpoint, received, make_order,
                                              django_capture_on_commit_callbacks):
    api_services.webhook_endpoint_disable(endpoint=endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        make_order()
    assert received == [] and not WebhookDelivery.objects.exists()


def test_the_same_cause_is_queued_once(endpoint, make_order):
    from workorders.models import WorkOrderEvent

    make_order()
    event = WorkOrderEvent.objects.get()
    assert api_services.webhook_publish_order_event(event=event) == 0  # already queued
    assert WebhookDelivery.objects.count() == 1


class _Receiver(http.server.BaseHTTPRequestHandler):
    got: list[tuple[dict, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.got.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_real_http_receiver_on_loopback_gets_a_verifiable_delivery(call_centre, make_order,
                                                                      settings):
    settings.API_WEBHOOK_ALLOW_HTTP_LOOPBACK = True
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = api_services.webhook_endpoint_create(
            client=call_centre, url=f"http://127.0.0.1:{server.server_port}/hook")
        make_order()
        note = Notification.objects.get(channel="webhook")
        assert outbox.deliver(note.pk) == "sent"
    finally:
        server.shutdown()
        server.server_close()
    headers, body = _Receiver.got[-1]
    assert webhooks.verify(endpoint.secret, body, headers["X-Fieldops-Signature"])
    assert json.loads(body)["type"] == "order.created"
    # What an integrator does with Standard Webhooks' published library and the secret
    assert Webhook(endpoint.secret).verify(body, dict(headers))["type"] == "order.created"
    assert headers["webhook-id"] == headers["X-Fieldops-Delivery"] == str(note.pk)


def test_deliveries_are_visible_in_the_admin_with_their_status(admin_client, endpoint,
                                                               make_order):
    make_order()
    response = admin_client.get("/admin/api/webhookdelivery/")
    assert response.status_code == 200
    assert b"order.created" in response.content


def test_sla_warnings_and_breaches_are_published_once_per_timer(endpoint, make_order, alice):
    """R38: the SLA engine hands warned/breached timer events to the webhooks."""
    from sla.timers import Timer
    from workorders.models import State

    make_order(State.DISPATCHED, technician=alice)
    timer = Timer.objects.first()
    at = clock.now()
    assert api_services.webhook_publish_timer_event(timer=timer, kind="breached", at=at) == 1
    assert api_services.webhook_publish_timer_event(timer=timer, kind="breached", at=at) == 0
    assert api_services.webhook_publish_timer_event(timer=timer, kind="started", at=at) == 0
    delivery = WebhookDelivery.objects.get(event_type="sla.breached")
    body = json.loads(delivery.notification.body)
    assert body["data"]["timer"]["kind"] == timer.kind


def test_sla_warnings_and_breaches_reach_the_endpoints(endpoint, make_order, alice, dispatcher):
    # R38: the sweep publishes warned and breached steps in its own transaction, once
    from sla import engine

    start = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        services.work_order_dispatch(order=make_order(), by=dispatcher, technician=alice)
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        engine.sweep_all()
        engine.sweep_all()  # run it twice: nothing new is queued
    kinds = sorted(WebhookDelivery.objects.filter(event_type__startswith="sla")
                   .values_list("event_type", flat=True))
    assert kinds == sorted(["sla.warning", "sla.breached"])


def test_a_withdrawn_breach_is_told_to_the_endpoints_that_heard_of_it(endpoint, make_order,
                                                                       alice):
    # R38, issue 16: the sweep told the endpoint of the arrival warning and breach while the
    # phone was offline; the check-in done in time reaches the server later and withdraws
    # both: the endpoint is told once per step, with both times, and not again on a retry.
    from appointments.models import Appointment, AppointmentStatus
    from sla import engine
    from workorders.models import State, WorkOrder

    order = make_order(State.EN_ROUTE, technician=alice)
    booked = Appointment.objects.get(order=order, status=AppointmentStatus.BOOKED)
    with time_machine.travel(booked.start + dt.timedelta(minutes=40), tick=False):
        engine.sweep_all()
    assert WebhookDelivery.objects.filter(event_type="sla.breached").count() == 1
    done = booked.start + dt.timedelta(minutes=2)
    with time_machine.travel(booked.start + dt.timedelta(minutes=50), tick=False), \
            clock.happened(done):
        services.work_order_check_in(order=WorkOrder.objects.get(pk=order.pk),
                                     by=alice.user)
    withdrawn = WebhookDelivery.objects.filter(event_type="sla.withdrawn")
    steps = sorted(json.loads(d.notification.body)["data"]["withdrawn"]["step"]
                   for d in withdrawn)
    assert steps == ["breach", "warning"]
    body = json.loads(withdrawn.first().notification.body)["data"]
    assert body["timer"]["kind"] == "arrival" and body["withdrawn"]["action"] == "check_in"
    assert dt.datetime.fromisoformat(body["withdrawn"]["at"]) == done
    assert dt.datetime.fromisoformat(body["withdrawn"]["received_at"]) == (
        booked.start + dt.timedelta(minutes=50))
    # published again (a retried handler): nothing new is queued
    from sla.timers import Timer, TimerEventKind

    timer = Timer.objects.get(order=order, kind="arrival")
    breach = timer.events.get(kind=TimerEventKind.BREACHED)
    assert api_services.webhook_publish_timer_withdrawal(
        timer=timer, kind="breached", reached_at=breach.at, at=done,
        received_at=booked.start + dt.timedelta(minutes=50), action="check_in") == 0


# --- Issue 18: an endpoint's host is resolved and checked, at registration and delivery ---

@pytest.mark.parametrize("url", [
    "https://2130706433/", "https://0x7f.1/h", "https://127.1/h", "https://017700000001/h",
    "https://[::ffff:127.0.0.1]/h", "https://100.64.0.1/h", "https://hooks.internal.example/h",
])
def test_a_host_written_as_a_number_or_a_name_for_an_internal_address_is_refused(cc, url):
    # Defect: https://2130706433/ (127.0.0.1 written as one number) was registered, because
    # only literal dotted addresses were checked and names were never resolved.
    response = cc.post("webhooks/", {"url": url}, headers={"Accept-Language": "en"})
    assert response.status_code == 422, response.body
    assert "private or local" in json.dumps(response.body, ensure_ascii=False)
    assert not WebhookEndpoint.objects.exists()


def test_a_name_that_resolves_nowhere_is_refused_at_registration(cc, monkeypatch):
    def nowhere(host, port):
        raise OSError("Name or service not known")

    monkeypatch.setattr(webhooks, "resolve", nowhere)
    response = cc.post("webhooks/", {"url": "https://typo.example.com/h"},
                       headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "does not resolve" in json.dumps(response.body, ensure_ascii=False)


def test_a_name_that_points_inside_by_delivery_time_gets_nothing(endpoint, received,
                                                                 make_order, monkeypatch):
    # Defect: the address was checked at registration only; a name re-pointed at
    # 127.0.0.1 afterwards (DNS rebinding) got the order data posted into our network.
    make_order()
    note = Notification.objects.get(channel="webhook")
    monkeypatch.setattr(webhooks, "resolve", lambda host, port: ["127.0.0.1"])
    assert outbox.deliver(note.pk) == "retry"
    note.refresh_from_db()
    assert received == [] and "127.0.0.1" in note.last_error


def test_the_delivery_connects_to_the_address_it_checked(call_centre, make_order, settings,
                                                          monkeypatch):
    # The connection goes to the address just resolved and checked, not to a second
    # lookup of the name; the name still travels in the Host header (and in TLS SNI).
    settings.API_WEBHOOK_ALLOW_HTTP_LOOPBACK = True
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(webhooks, "resolve", resolve)
    try:
        api_services.webhook_endpoint_create(
            client=call_centre, url=f"http://receiver.example:{server.server_port}/hook?x=1")
        make_order()
        note = Notification.objects.get(channel="webhook")
        assert outbox.deliver(note.pk) == "sent"
    finally:
        server.shutdown()
        server.server_close()
    headers, _body = _Receiver.got[-1]
    assert headers["Host"] == f"receiver.example:{server.server_port}"
    assert set(lookups) == {"receiver.example"}


def test_the_secret_is_what_standard_webhooks_libraries_take(cc):
    secret = cc.post("webhooks/", {"url": "https://cc.example.com/hooks"}).body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert webhooks.signing_key(secret) == base64.b64decode(secret.removeprefix("whsec_"))


def test_a_delivery_verifies_with_the_standard_webhooks_library_and_nothing_else_does(
        endpoint, received, make_order, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_order()
    call = received[0]
    headers = call["headers"]
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(endpoint.secret).verify(call["body"], headers)["type"] == "order.created"
    for body, secret, changed in [
            (call["body"] + b" ", endpoint.secret, {}),
            (call["body"], webhooks.new_secret(), {}),
            (call["body"], endpoint.secret, {"webhook-id": "999999"}),
            (call["body"], endpoint.secret,
             {"webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)})]:
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, {**headers, **changed})


def test_an_old_delivery_is_refused_by_the_library_as_a_replay(endpoint, received, make_order,
                                                               django_capture_on_commit_callbacks):
    ten_minutes_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    with (time_machine.travel(ten_minutes_ago, tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        make_order()
    call = received[0]
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(endpoint.secret).verify(call["body"], call["headers"])


def test_a_secret_issued_before_the_scheme_still_signs_both_headers(call_centre, received,
                                                                    make_order,
                                                                    django_capture_on_commit_callbacks):
    # Secrets were "whsec_" + URL-safe text until Standard Webhooks signing; their
    # receivers keep X-Fieldops-Signature, and give the libraries whsec_ + base64(secret).
    endpoint = api_services.webhook_endpoint_create(client=call_centre,
                                                    url="https://cc.example.com/hooks")
    legacy = "whsec_" + secrets.token_urlsafe(32)
    while "-" not in legacy and "_" not in legacy[6:]:
        legacy = "whsec_" + secrets.token_urlsafe(32)  # one that is no base64
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=legacy)
    with django_capture_on_commit_callbacks(execute=True):
        make_order()
    call = received[0]
    assert webhooks.verify(legacy, call["body"], call["headers"]["X-Fieldops-Signature"])
    as_documented = "whsec_" + base64.b64encode(legacy.encode()).decode()
    assert Webhook(as_documented).verify(call["body"], call["headers"])["type"] == \
        "order.created"
