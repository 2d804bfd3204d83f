"""Web Push (issue 14, part 7): browsers subscribe, alerts and new assignments are pushed
through the outbox, encrypted for each browser (RFC 8291) and signed with the server's VAPID
key (RFC 8292), to a real local HTTP push service that decrypts what it receives; a gone
subscription (404/410) is removed; a bad subscription is refused with a message."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
import time_machine
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.urls import reverse

from notifications.delivery import deliver
from notifications.management.commands.webpush_keys import new_keys
from notifications.models import Channel, Notification, PushSubscription, Status
from notifications.services import notify
from sla import engine
from sla.timers import Timer, TimerStatus
from surveys.models import Survey
from surveys.services import callbacks_open_due
from workorders import alerts, services
from workorders.models import State

pytestmark = pytest.mark.django_db

SUBSCRIBE = reverse("push:subscribe")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """What a browser keeps for one subscription: its ECDH key pair and auth secret."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": _b64(public), "auth": _b64(self.auth)}}

    def read(self, body: bytes) -> dict[str, Any]:
        return json.loads(http_ece.decrypt(body, private_key=self.key,
                                           auth_secret=self.auth, version="aes128gcm"))


class PushService:
    """A real HTTP push service on loopback: answers 201, or 410 for paths under /gone/,
    and keeps each request (path, headers, body)."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, {k.lower(): v for k, v in self.headers.items()},
                                 body))
                self.send_response(410 if self.path.startswith("/gone/") else 201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def push_service(settings) -> Iterator[PushService]:
    private, public = new_keys()
    settings.WEBPUSH_VAPID_PRIVATE_KEY = private
    settings.WEBPUSH_VAPID_PUBLIC_KEY = public
    settings.WEBPUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBPUSH_ALLOW_HTTP = True
    service = PushService()
    yield service
    service.server.shutdown()


def _vapid_ok(headers: dict[str, str], public_key: str, audience: str) -> bool:
    """RFC 8292: ``Authorization: vapid t=<JWT signed ES256>, k=<server's public key>``."""
    scheme, _, params = headers["authorization"].partition(" ")
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert scheme == "vapid" and fields["k"] == public_key
    head, claims, signature = fields["t"].split(".")
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(public_key))
    raw = _unb64(signature)
    key.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                    int.from_bytes(raw[32:], "big")),
               f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(_unb64(claims))["aud"] == audience


def _subscribe(client, user, browser: Browser) -> Any:
    client.force_login(user)
    return client.post(SUBSCRIBE, json.dumps(browser.subscription()),
                       content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def test_a_breach_is_pushed_to_the_dispatchers_browser_encrypted_and_signed(
        client, push_service, settings, make_order, dispatcher, alice,
        django_capture_on_commit_callbacks):
    browser = Browser(push_service.url + "/ok/dora")
    assert _subscribe(client, dispatcher, browser).status_code == 201
    order = make_order(State.DISPATCHED, technician=alice)
    timer = Timer.objects.filter(order=order, status=TimerStatus.ARMED).order_by("due_at")[0]
    with django_capture_on_commit_callbacks(execute=True):
        engine.sweep_all(now=timer.due_at + dt.timedelta(minutes=1))
    pushes = Notification.objects.filter(channel=Channel.PUSH, recipient=dispatcher)
    assert pushes.count() == 1 and pushes.get().status == Status.SENT  # the outbox sent it
    [(path, headers, body)] = push_service.received
    assert path == "/ok/dora" and headers["content-encoding"] == "aes128gcm"
    assert _vapid_ok(headers, settings.WEBPUSH_VAPID_PUBLIC_KEY, push_service.url)
    message = browser.read(body)
    assert message["title"] in ("承诺已违约", "Promise broken")
    assert order.number in message["body"]
    assert message["url"] == reverse("admin:workorders_workorder_change", args=[order.pk])
    # at most once per alert and person, however often the fan-out runs
    alert = Notification.objects.get(channel=Channel.IN_APP, kind="sla.breached",
                                     address="role:dispatcher")
    assert alerts.push_alerts([alert.pk], []) == 0


def test_only_the_alerts_audience_is_pushed(client, push_service, make_order, dispatcher,
                                           supervisor, west, alice,
                                           django_capture_on_commit_callbacks):
    # a dispatcher who runs only the west area hears nothing of an east order
    west.dispatchers.add(dispatcher)
    _subscribe(client, dispatcher, Browser(push_service.url + "/ok/dora"))
    _subscribe(client, supervisor, Browser(push_service.url + "/ok/sam"))
    order = make_order(State.DISPATCHED, technician=alice)
    with django_capture_on_commit_callbacks(execute=True):
        notify(channel=Channel.IN_APP, kind="sla.breached", body="late", order=order,
               address="role:dispatcher", dedupe_key="t:1")
        notify(channel=Channel.IN_APP, kind="sla.escalated", body="late", order=order,
               address="role:supervisor", dedupe_key="t:2")
    assert [p for p, _h, _b in push_service.received] == ["/ok/sam"]


def test_a_new_assignment_is_pushed_to_the_technicians_phone(client, push_service,
                                                            make_order, alice, dispatcher,
                                                            django_capture_on_commit_callbacks):
    phone = Browser(push_service.url + "/ok/alice")
    _subscribe(client, alice.user, phone)
    order = make_order(State.ACCEPTED)
    with django_capture_on_commit_callbacks(execute=True):
        services.work_order_dispatch(order=order, by=dispatcher, technician=alice)
    [(_path, _headers, body)] = push_service.received
    message = phone.read(body)
    assert order.number in message["body"]
    assert message["url"] == reverse("tech:order", args=[order.pk])


def test_a_gone_subscription_is_removed_and_the_push_fails_for_good(client, push_service,
                                                                    dispatcher):
    _subscribe(client, dispatcher, Browser(push_service.url + "/gone/dora"))
    note = notify(channel=Channel.PUSH, kind="sla.breached", recipient=dispatcher,
                  subject="x", body="y", params={"url": "/"}, dedupe_key="p:1")
    assert deliver(note.pk) == "failed"
    assert not PushSubscription.objects.exists()
    assert "no browser" in Notification.objects.get(pk=note.pk).last_error


def test_a_push_service_that_cannot_be_reached_is_retried(client, push_service, dispatcher):
    browser = Browser(push_service.url + "/ok/dora")
    _subscribe(client, dispatcher, browser)
    push_service.server.shutdown()
    push_service.server.server_close()
    note = notify(channel=Channel.PUSH, kind="sla.breached", recipient=dispatcher,
                  subject="x", body="y", params={"url": "/"}, dedupe_key="p:2")
    assert deliver(note.pk) == "retry"
    assert PushSubscription.objects.count() == 1


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: {**s, "endpoint": "ftp://127.0.0.1/x"}, "must be an https:// address"),
    (lambda s: {**s, "endpoint": "https://attacker.example/x"}, "is not a push service"),
    (lambda s: {**s, "keys": {"auth": s["keys"]["auth"]}}, "no p256dh key"),
    (lambda s: {**s, "keys": {**s["keys"], "auth": "AAAA"}}, "auth key must be 16 bytes"),
    (lambda s: {**s, "keys": {**s["keys"], "p256dh": "!!"}}, "not base64url"),
    (lambda s: [s], "as a JSON object"),
])
def test_a_bad_subscription_is_refused_with_what_to_fix(client, push_service, dispatcher,
                                                        change, message):
    client.force_login(dispatcher)
    good = Browser(push_service.url + "/ok/dora").subscription()
    answer = client.post(SUBSCRIBE, json.dumps(change(good)), content_type="application/json",
                         HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 400 and message in answer.json()["detail"]
    assert not PushSubscription.objects.exists()


def test_subscribing_needs_a_login_and_push_switched_on(client, settings, dispatcher):
    body = json.dumps(Browser("https://fcm.googleapis.com/fcm/send/x").subscription())
    assert client.post(SUBSCRIBE, body, content_type="application/json").status_code == 403
    client.force_login(dispatcher)
    settings.WEBPUSH_VAPID_PRIVATE_KEY = ""
    answer = client.post(SUBSCRIBE, body, content_type="application/json",
                         HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 404 and "not set up" in answer.json()["detail"]
    assert not PushSubscription.objects.exists()


def test_push_off_writes_nothing_for_push(make_order, alice, dispatcher,
                                          django_capture_on_commit_callbacks):
    order = make_order(State.DISPATCHED, technician=alice)
    timer = Timer.objects.filter(order=order, status=TimerStatus.ARMED).order_by("due_at")[0]
    with django_capture_on_commit_callbacks(execute=True):
        engine.sweep_all(now=timer.due_at + dt.timedelta(minutes=1))
    assert not Notification.objects.filter(channel=Channel.PUSH).exists()


def test_the_service_worker_may_serve_every_page(client):
    answer = client.get(reverse("push:worker"))
    assert answer.status_code == 200 and answer["Service-Worker-Allowed"] == "/"
    assert b"showNotification" in answer.content


def test_a_callback_falling_due_is_pushed_to_each_agent_once(client, push_service, make_order,
                                                            alice, agent, dispatcher,
                                                            django_capture_on_commit_callbacks):
    # R30: the callback's alert reaches the call-centre's browsers, not the dispatchers'
    browser = Browser(push_service.url + "/ok/cora")
    _subscribe(client, agent, browser)
    _subscribe(client, dispatcher, Browser(push_service.url + "/ok/dora"))
    order = make_order(State.SURVEY_PENDING, technician=alice)
    survey = Survey.objects.get(order=order)
    later = survey.callback_due_at + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert callbacks_open_due() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert callbacks_open_due() == 0
    [(path, _headers, body)] = push_service.received
    assert path == "/ok/cora"
    message = browser.read(body)
    assert message["title"] in ("待回访", "Callback due") and order.number in message["body"]
    assert message["url"] == reverse("admin:workorders_workorder_change", args=[order.pk])
    alert = Notification.objects.get(channel=Channel.IN_APP, kind="callback_due")
    assert alerts.push_alerts([alert.pk], []) == 0
