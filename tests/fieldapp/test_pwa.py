"""The server's side of the technician pages offline (issue 16): the Workbox worker and the
files it loads, the pages Today asks the phone to keep, the step pages rendered "ahead" as
offline copies (GET only, the technician's own orders only, R41), and the words the
offline script shows. The phone's side runs in Chromium: tests/browser/test_offline.py."""

from __future__ import annotations

import datetime as dt
import json
import re
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from fieldapp import offline, views
from fieldapp.templatetags.offline import offline_words
from fieldapp.views import STEPS, WORKBOX_MODULES
from workorders.models import State

COPY = {"HTTP_X_OFFLINE_COPY": "1"}


def step_url(order, name: str) -> str:
    return reverse("tech:step", args=[order.pk, name])


def test_the_worker_is_workbox_loaded_from_our_own_static_files(client: Client):
    body = client.get(reverse("tech:sw")).content.decode()
    body = re.sub(r"\\u([0-9A-F]{4})", lambda m: chr(int(m.group(1), 16)), body)  # escapejs
    assert 'importScripts("/static/vendor/workbox-sw/workbox-sw.js", ' in body
    assert '"/static/vendor/idb-keyval/umd.js", "/static/tech/queue.js")' in body
    assert "modulePathCb" in body and "https://" not in body  # nothing from a CDN
    for name in WORKBOX_MODULES:
        assert f'"{name}": "/static/vendor/{name}/{name}.prod.js"' in body
        assert finders.find(f"vendor/{name}/{name}.prod.js"), name  # pinned in npm.toml
    assert finders.find("vendor/workbox-sw/workbox-sw.js")
    assert finders.find("vendor/idb-keyval/umd.js")
    for path in ("tech/offline.js", "vendor/idb-keyval/umd.js"):
        assert f"/static/{path}" in body  # precached with the shell
    assert "new workbox.strategies.CacheFirst(" in body  # static files, hashed names
    assert "new workbox.strategies.NetworkFirst(" in body  # the pages
    # Never kept: photos (no-store), the signed copy, the login page, the API.
    never = re.search(r"var NEVER = /(.*)/;", body)
    assert never is not None
    for path in ("/tech/orders/1/photos/2/", "/tech/orders/1/signed-report/",
                 "/tech/login/", "/api/v1/field/steps/"):
        assert re.search(never.group(1).replace("\\/", "/"), path), path
    assert not re.search(never.group(1).replace("\\/", "/"), "/tech/orders/1/contact/")


def test_the_scanner_is_precached_as_the_equipment_page_loads_it(client: Client, monkeypatch):
    # Issue 15/16, R45: the scanner's files are in the worker's precache list, under the
    # URLs the page asks for, and served by us; the page itself does not load them.
    body = client.get(reverse("tech:sw")).content.decode()
    body = re.sub(r"\\u([0-9A-F]{4})", lambda m: chr(int(m.group(1), 16)), body)
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", body).group(1))
    wasm = "/static/vendor/zxing-wasm/reader/zxing_reader.wasm"
    assert wasm in shell and "/static/vendor/barcode-detector/iife/polyfill.js" in shell
    assert shell[-1] == reverse("tech:offline")  # still the worker's offline fallback
    assert finders.find("vendor/zxing-wasm/reader/zxing_reader.wasm")  # served by us
    # A new reader keeps its unhashed URL: its content hash still changes the version.
    version = re.search(r'var VERSION = "(\w+)";', body).group(1)
    monkeypatch.setattr(views, "_wasm_revision", lambda: "zxing_reader.0123abcd.wasm")
    assert f'var VERSION = "{version}";' not in client.get(reverse("tech:sw")).content.decode()


def test_the_manifest_stays_installable(client: Client):
    manifest = client.get(reverse("tech:manifest")).json()
    assert manifest["name"] and manifest["display"] == "standalone"
    assert manifest["start_url"] == reverse("tech:today")
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}


def test_today_lists_the_days_orders_and_their_visits_pages_to_keep(alice_client,
                                                                    make_order, alice):
    order = make_order(State.PREPARED, technician=alice)
    page = alice_client.get(reverse("tech:today")).content.decode()
    keep = json.loads(re.search(r'<script id="offline-keep" type="application/json">(.*?)'
                                r"</script>", page).group(1))
    assert keep["pages"][0] == reverse("tech:today")
    assert "/static/tech/offline.js" in keep["pages"]
    (kept,) = keep["orders"]
    assert (kept["order"], kept["version"]) == (order.pk, order.version)
    assert kept["urls"][0] == reverse("tech:order", args=[order.pk])
    for name in ("contact", "check-in", "safety", "tests", "tryout", "cleanup", "sign-off",
                 "complete", "nobody-home"):
        assert step_url(order, name) in kept["urls"]
    assert step_url(order, "depart") not in kept["urls"]  # one tap on the order page


def test_only_today_and_tomorrow_are_kept():
    today = dt.date(2026, 12, 7)
    at = lambda day: timezone.make_aware(dt.datetime.combine(day, dt.time(9)))  # noqa: E731
    orders = [SimpleNamespace(pk=1, visit_start=at(today)),
              SimpleNamespace(pk=2, visit_start=at(today + dt.timedelta(days=1))),
              SimpleNamespace(pk=3, visit_start=at(today + dt.timedelta(days=2))),
              SimpleNamespace(pk=4, visit_start=None)]
    assert [o.pk for o in offline.kept_days(orders, today)] == [1, 2, 4]


def test_a_step_page_is_copied_ahead_for_offline_use_but_never_run(alice_client,
                                                                   make_order, alice):
    # Issue 16: check-in is not offered before "on my way"; the copy is rendered all the same
    order = make_order(State.PREPARED, technician=alice)
    assert alice_client.get(step_url(order, "check-in")).status_code == 302
    copy = alice_client.get(step_url(order, "check-in"), **COPY)
    assert copy.status_code == 200
    assert f'name="version" value="{order.version}"' in copy.content.decode()
    for name in offline.VISIT_SEQUENCE:
        assert name in STEPS
        assert alice_client.get(step_url(order, name), **COPY).status_code == 200, name
    # A POST is never "ahead": the step is not possible now.
    sent = alice_client.post(step_url(order, "check-in"), {"version": order.version}, **COPY)
    assert sent.status_code == 302
    order.refresh_from_db()
    assert order.state == State.PREPARED
    # Only steps of the visit: the others are not copied.
    assert alice_client.get(step_url(order, "pay"), **COPY).status_code == 302


def test_another_technicians_order_is_never_copied(bob_client, make_order, alice):
    order = make_order(State.PREPARED, technician=alice)
    assert bob_client.get(step_url(order, "contact"), **COPY).status_code == 404  # R41


def test_an_offline_copy_leaves_the_messages_for_the_page_the_technician_sees(
        alice_client, make_order, alice):
    order = make_order(State.PREPARED, technician=alice)
    done = alice_client.post(step_url(order, "contact"), {
        "version": order.version, "channel": "phone", "outcome": "reached"})
    assert done.status_code == 302
    copy = alice_client.get(reverse("tech:order", args=[order.pk]), **COPY).content.decode()
    assert 'class="messages"' not in copy
    seen = alice_client.get(reverse("tech:order", args=[order.pk])).content.decode()
    assert 'class="messages"' in seen


def test_the_order_page_carries_the_whole_visit_for_offline_use(alice_client, make_order,
                                                                alice):
    order = make_order(State.PREPARED, technician=alice)
    page = alice_client.get(reverse("tech:order", args=[order.pk])).content.decode()
    # Hidden online; offline, tech/offline.js adds the visit's steps (none is a link here:
    # online, only the steps possible now are offered).
    visit = re.search(r'<nav class="card" data-offline-visit="(\d+)" data-version="(\d+)"'
                      r"[^>]*hidden>", page)
    assert visit is not None and visit.groups() == (str(order.pk), str(order.version))
    assert step_url(order, "check-in") not in page
    words = json.loads(re.search(r'<script id="offline-words" type="application/json">(.*?)'
                                 r"</script>", page).group(1))
    assert words["steps"] == list(offline.VISIT_SEQUENCE)
    assert set(words["labels"]) == set(offline.VISIT_SEQUENCE) and words["one_tap"] == ["depart"]
    assert f"data-order-queue=\"{order.pk}\"" in page
    assert 'data-user="' in page and "tech/offline.js" in page


@pytest.mark.parametrize(("language", "banner", "waiting", "lost"), [
    ("zh-hans", "离线，上次同步 10:42", "%(count)s 个步骤等待发送",
     "%(count)s 个步骤尚未发送，将会丢失。"),
    ("en", "Offline, last synced 10:42", "%(count)s steps waiting to send",
     "%(count)s steps have not been sent; they will be lost."),
])
def test_the_offline_words_are_translated_and_synced_in_the_operators_zone(
        language, banner, waiting, lost):
    # 02:42 UTC is 10:42 in Asia/Shanghai (the operator's zone, TIME_ZONE)
    with time_machine.travel(dt.datetime(2026, 12, 7, 2, 42, tzinfo=dt.UTC), tick=False), \
            translation.override(language):
        words = offline_words()
    assert words["banner"] == banner
    assert words["waiting"]["other"] == waiting
    assert words["lost"]["other"] == lost
    assert words["endpoint"] == "/api/v1/field/steps/"
    assert set(words["todo"]) == {"conflict", "rule", "forbidden", "invalid"}


# --- The session ended on the server (issue 18): the phone drops customer data (R40) ----------

def test_an_expired_session_is_sent_to_the_login_page_that_says_so(alice_client, make_order,
                                                                   alice, client: Client):
    """Defect: only logging out cleared the phone; a session that simply expired left the
    kept pages. The server's half: a page asked with a session cookie it no longer knows
    goes to the login page marked ``ended=1`` (the worker drops the kept pages on that
    redirect), and the login page asks to log in again; a first visit is not "ended"."""
    from django.contrib.sessions.models import Session

    order = make_order(State.PREPARED, technician=alice)
    url = reverse("tech:order", args=[order.pk])
    assert alice_client.get(url).status_code == 200
    Session.objects.all().delete()  # expired (or ended by an administrator)
    response = alice_client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('tech:login')}?next={url}&{offline.SESSION_ENDED}=1"
    page = alice_client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "data-session-ended" in page and "Your session has ended. Log in again" in page
    first = client.get(url)
    assert first.url == f"{reverse('tech:login')}?next={url}"
    assert "data-session-ended" not in client.get(first.url).content.decode()


def test_the_replay_answers_401_without_a_session(alice_client, client: Client):
    """The phone tells an ended session (401: drop customer data, log in again) from a
    refusal (403 is another technician's order, R41: kept for the technician to read)."""
    from django.contrib.sessions.models import Session

    endpoint = offline.replay_url()
    Session.objects.all().delete()
    for browser in (alice_client, client):
        response = browser.post(endpoint, {"client_id": "x"})
        assert response.status_code == 401, response.content


def test_the_phone_knows_which_queued_fields_carry_customer_data(client: Client):
    """The worker and the pages drop, on an ended session, the steps with these fields;
    the kept pages expire at the end of the next day, bounded by two days (R40)."""
    body = client.get(reverse("tech:sw")).content.decode()
    fields = re.search(r"var CUSTOMER_FIELDS = \[(.*)\];", body).group(1)
    assert [f.strip('" ') for f in fields.split(",")] == list(offline.CUSTOMER_FIELDS)
    assert {"note", "signer_name", "signature", "customer_name", "photo"} <= set(
        offline.CUSTOMER_FIELDS)
    assert not {"outcome", "latitude", "items", "version"} & set(offline.CUSTOMER_FIELDS)
    assert f'var LOGIN = "{reverse("tech:login")}";' in body.replace("\\u002D", "-")
    assert "maxAgeSeconds: 2 * 24 * 3600" in body and "getDate() + 2" in body
    words = offline_words()
    assert words["customer_fields"] == list(offline.CUSTOMER_FIELDS)
    assert (words["login"], words["ended"]) == (reverse("tech:login"), "ended")
