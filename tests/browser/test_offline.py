"""The technician pages without signal (issue 16), in real Chromium with the network
switched off (``context.set_offline``): the day's pages kept by the Workbox service worker,
steps queued in IndexedDB with the phone's times, kept across a browser restart, and
replayed in order when the network is back; a refused step stops that order's later steps;
logging out clears the kept pages and the queue; a session that ends on the server drops
the customer data kept (R40), and a kept page is not shown after the end of the next day.

The replay endpoint (POST /api/v1/field/steps/) is answered here by Playwright's
``context.route``: the server's side of the replay is tested on its own; what these tests
check is the phone's part (the order of the requests, what each carries, removal from the
queue, the refusal shown, the retry). Everything else is the live server."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from email.parser import BytesParser
from email.policy import default as email_policy
from typing import Any

import pytest

from workorders.models import State

from .conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PHONE, draw_signature, watch_csp

pytestmark = pytest.mark.django_db(transaction=True)

ENDPOINT = re.compile(r".*/api/v1/field/steps/$")
WAITING = "[data-waiting]"


def fields_of(request: Any) -> dict[str, Any]:
    """The multipart form a routed request carries: text fields as str, files as bytes."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=email_policy).parsebytes(head + request.post_data_buffer)
    form: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        form[name] = payload if part.get_filename() else payload.decode()
    return form


class Phone:
    """One phone: a persistent Chromium profile (IndexedDB, caches, the service worker and
    the cookies survive closing it), opened and closed as the test says."""

    def __init__(self, browser: Any, live_server: Any, folder: Any) -> None:
        self.browser_type = browser.browser_type
        self.base_url = live_server.url
        self.folder = folder
        self.context: Any = None
        self.page: Any = None
        self.violations: list[str] = []
        self.errors: list[str] = []

    def open(self) -> Any:
        self.context = self.browser_type.launch_persistent_context(
            str(self.folder), executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
            headless=True, base_url=self.base_url, **PHONE)
        self.context.set_default_timeout(15_000)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.violations += watch_csp(self.page)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        return self.page

    def close(self) -> None:
        self.context.close()

    def shot(self, name: str) -> None:
        folder = ARTIFACTS / "test_offline"
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def phone_profile(browser: Any, live_server: Any, tmp_path: Any) -> Any:
    phone = Phone(browser, live_server, tmp_path / "profile")
    yield phone
    if phone.context is not None:
        with contextlib.suppress(Exception):  # already closed by the test
            phone.close()
    assert not phone.violations, phone.violations
    assert not phone.errors, phone.errors


def log_in_and_keep_the_day(page: Any) -> None:
    page.goto("/tech/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/tech/$"))
    # The worker is active and has kept the day's pages (it says so to the page).
    page.wait_for_selector("html[data-kept]", state="attached")


def waiting(page: Any, count: int) -> str:
    """What the page says is waiting, once its script has counted ``count`` steps."""
    page.wait_for_function(
        f"() => document.querySelector('{WAITING}').dataset.count === '{count}'")
    return page.inner_text(WAITING) if page.is_visible(WAITING) else ""


def queue_contact(page: Any, order: Any) -> None:
    page.goto(f"/tech/orders/{order.pk}/contact/")
    page.check("input[name=outcome][value=reached]")
    page.fill("textarea[name=note]", "Address and ONU confirmed")
    with page.expect_navigation(url=re.compile(rf"/tech/orders/{order.pk}/$")):
        page.click("button[data-submit]")


def queue_sign_off(page: Any, order: Any) -> None:
    """The customer signs on the kept sign-off page, offline (R26); the page says that a
    code from the customer's SMS, where needed, is asked when the network is back."""
    page.goto(f"/tech/orders/{order.pk}/sign-off/")
    assert "网络恢复后" in page.inner_text("[data-offline-only]")
    page.fill("#id_signer_name", "张伟")
    page.check("input[name=rating][value='5']")
    draw_signature(page, ((0.3, 0.2), (0.5, 0.8), (0.8, 0.3)))
    with page.expect_navigation(url=re.compile(rf"/tech/orders/{order.pk}/$")):
        page.click("button[data-submit]")


def queue_depart(page: Any, order: Any) -> None:
    assert page.is_visible("[data-offline-visit]")
    with page.expect_navigation(url=re.compile(rf"/tech/orders/{order.pk}/$")):
        page.click("[data-offline-visit] [data-visit-step=depart]")


def test_a_day_offline_is_kept_queued_across_a_restart_and_replayed_in_order(
        phone_profile, make_order, alice):
    # Issue 16 items 1-3; R7, R13, R41 (the kept pages are alice's own)
    first = make_order(State.PREPARED, technician=alice)
    second = make_order(State.PREPARED, technician=alice)
    page = phone_profile.open()
    log_in_and_keep_the_day(page)
    assert second.number in page.inner_text("main")

    phone_profile.context.set_offline(True)
    # An order never opened online: the kept copy, with the banner.
    page.goto(f"/tech/orders/{second.pk}/")
    banner = page.locator("[data-offline-banner]")
    assert banner.is_visible()
    assert page.get_attribute("html", "data-copy") == "kept"  # the worker's kept copy
    assert re.fullmatch(r"离线，上次同步 \d\d:\d\d", banner.inner_text()), banner.inner_text()
    assert second.number in page.inner_text("h1")
    phone_profile.shot("01-order-offline")
    # Issue 15/16, R45: the scanner, never opened online, has its WebAssembly file offline.
    wasm = page.evaluate("""async () => { const r = await fetch(
        '/static/vendor/zxing-wasm/reader/zxing_reader.wasm'); return [r.status,
        (await r.arrayBuffer()).byteLength]; }""")
    assert wasm[0] == 200 and wasm[1] > 500_000, wasm

    before = dt.datetime.now(dt.UTC)
    queue_contact(page, second)
    assert "1 个步骤等待发送" in waiting(page, 1)
    queue_depart(page, second)
    after = dt.datetime.now(dt.UTC)
    assert "2 个步骤等待发送" in waiting(page, 2)
    listed = page.locator("[data-order-queue] li")
    assert [li.get_attribute("data-queued") for li in listed.all()] == ["contact", "depart"]
    phone_profile.shot("02-two-waiting")
    phone_profile.close()

    # The phone restarts: still two waiting, and still offline.
    page = phone_profile.open()
    sent: list[dict[str, Any]] = []

    def answer(route: Any) -> None:
        form = fields_of(route.request)
        sent.append(form)
        assert route.request.headers.get("x-csrftoken")
        route.fulfill(status=200, content_type="application/json", body=json.dumps({
            "status": "applied", "at": form["phone_at"], "received_at": form["phone_sent_at"],
            "flag": "", "message": "", "code": "", "version": None}))

    phone_profile.context.route(ENDPOINT, answer)
    phone_profile.context.set_offline(True)
    page.goto(f"/tech/orders/{first.pk}/")
    assert "2 个步骤等待发送" in waiting(page, 2)
    assert sent == []

    phone_profile.context.set_offline(False)
    assert waiting(page, 0) == ""  # all sent
    assert [form["step"] for form in sent] == ["contact", "depart"]
    contact, depart = sent
    assert contact["order"] == depart["order"] == str(second.pk)
    assert contact["after"] == "" and depart["after"] == contact["client_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", contact["client_id"])
    assert contact["client_id"] != depart["client_id"]
    assert contact["version"] == str(second.version)
    assert contact["outcome"] == "reached" and "csrfmiddlewaretoken" not in contact
    for form in sent:
        made = dt.datetime.fromisoformat(form["phone_at"])
        assert made.utcoffset() == dt.timedelta(hours=8)  # the phone's own zone
        assert before - dt.timedelta(seconds=1) <= made <= after + dt.timedelta(seconds=1)
        assert dt.datetime.fromisoformat(form["phone_sent_at"]) >= made
    assert dt.datetime.fromisoformat(contact["phone_at"]) <= dt.datetime.fromisoformat(
        depart["phone_at"])


def test_a_refused_step_stops_the_orders_later_steps_and_logging_out_clears_the_phone(
        phone_profile, make_order, alice):
    # Issue 16 items 3-5 on the phone: refused in plain words, the rest still goes out
    first = make_order(State.PREPARED, technician=alice)
    second = make_order(State.PREPARED, technician=alice)
    page = phone_profile.open()
    log_in_and_keep_the_day(page)
    context = phone_profile.context
    context.set_offline(True)
    page.goto(f"/tech/orders/{first.pk}/")
    queue_contact(page, first)
    queue_depart(page, first)
    page.goto(f"/tech/orders/{second.pk}/")
    queue_contact(page, second)
    assert "3 个步骤等待发送" in waiting(page, 3)

    sent: list[dict[str, Any]] = []
    answers = [(503, {}),  # the server is down: stop, retry later
               (409, {"status": "refused", "code": "conflict", "flag": "", "version": 9,
                      "message": "The order was given to another technician."}),
               (200, {"status": "duplicate", "flag": "", "message": "", "code": "",
                      "version": 3})]

    def answer(route: Any) -> None:
        sent.append(fields_of(route.request))
        status, body = answers.pop(0)
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    context.route(ENDPOINT, answer)
    page.clock.install()  # the page's retry timer, moved on by the test (no waiting)
    page.reload()
    assert "3 个步骤等待发送" in waiting(page, 3)
    context.set_offline(False)
    for _ in range(100):
        if sent:
            break
        page.wait_for_timeout(50)
    page.clock.run_for(4000)  # the first retry is due after 5 s
    assert [f["step"] for f in sent] == ["contact"]  # the 503: stop, nothing removed
    assert page.get_attribute(WAITING, "data-count") == "3"
    page.clock.run_for(1500)
    page.wait_for_selector("[data-not-sent]:not([hidden])")
    assert waiting(page, 0) == ""  # all sent
    # first's contact again (refused), then not first's depart, but second's contact.
    assert [(f["order"], f["step"]) for f in sent] == [
        (str(first.pk), "contact"), (str(first.pk), "contact"), (str(second.pk), "contact")]
    refused = page.locator("[data-not-sent] li")
    assert [li.get_attribute("data-refused") for li in refused.all()] == ["contact", "depart"]
    text = page.inner_text("[data-not-sent]")
    assert "The order was given to another technician." in text
    assert "这个工单在你离线时有了变化" in text  # what to do, in plain words
    assert "同一工单的前一个步骤被拒绝" in text  # the later step: not sent
    phone_profile.shot("03-not-sent")
    refused.first.locator("button").click()
    page.wait_for_function("() => document.querySelectorAll('[data-not-sent] li').length === 1")

    # One more step offline, then log out: the phone asks first, then forgets everything.
    context.set_offline(True)
    page.goto(f"/tech/orders/{second.pk}/")
    queue_depart(page, second)
    # The replay's requests fail from now on, set before the phone is back online (whose
    # event starts a replay at once, which the earlier route would have answered).
    context.unroute(ENDPOINT)
    context.route(ENDPOINT, lambda route: route.abort())
    context.set_offline(False)
    asked: list[str] = []

    def dismiss_first(dialog: Any) -> None:
        asked.append(dialog.message)
        if len(asked) == 1:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", dismiss_first)
    page.click("form[data-logout] button")
    page.wait_for_timeout(300)  # the dialog was answered "no": still logged in
    assert "/tech/orders/" in page.url
    assert asked == ["1 个步骤尚未发送，将会丢失。"]
    with page.expect_navigation(url=re.compile(r"/tech/login/")):
        page.click("form[data-logout] button")
    # Nothing of the technician's pages is left (the login page's own CSS may be cached).
    left = page.evaluate("""async () => ({
        caches: (await Promise.all((await caches.keys()).map(async name =>
          (await (await caches.open(name)).keys()).map(r => new URL(r.url).pathname)
            .filter(path => path.startsWith('/tech/'))))).flat(),
        queue: await new Promise(resolve => {
          const open = indexedDB.open('fieldops-offline');
          open.onsuccess = () => {
            const db = open.result;
            if (!db.objectStoreNames.contains('queue')) { resolve(0); return; }
            const count = db.transaction('queue').objectStore('queue').count();
            count.onsuccess = () => resolve(count.result);
          };
        }),
    })""")
    assert left == {"caches": [], "queue": 0}


#: The technician's pages the phone keeps (the precached offline page holds no customer
#: data) and the steps queued.
LEFT_ON_THE_PHONE = """async () => ({
    caches: (await Promise.all((await caches.keys()).map(async name =>
      (await (await caches.open(name)).keys()).map(r => new URL(r.url).pathname)
        .filter(path => path.startsWith('/tech/') && path !== '/tech/offline/')))).flat(),
    queue: await new Promise(resolve => {
      const open = indexedDB.open('fieldops-offline');
      open.onsuccess = () => {
        const got = open.result.transaction('queue').objectStore('queue').get('queue');
        got.onsuccess = () => resolve((got.result || []).map(e => e.step));
      };
    }),
})"""


def test_an_ended_session_drops_the_customer_data_kept_and_old_copies_are_not_shown(
        phone_profile, make_order, alice):
    """Issue 18 (R40). Defect: only logging out cleared the phone; a session that simply
    expired on the server left the kept pages (names, numbers, addresses) and the queued
    steps. Now the replay's 401, or a page sent to the login page, drops the kept pages and
    the steps carrying customer data at once (a contact note here; "on my way" stays), and
    the login page says the session ended. A kept copy from before yesterday is not shown
    offline (the end of the next day), even with no server answer."""
    from django.contrib.sessions.models import Session

    first = make_order(State.PREPARED, technician=alice)
    second = make_order(State.PREPARED, technician=alice)
    page = phone_profile.open()
    log_in_and_keep_the_day(page)
    context = phone_profile.context
    context.set_offline(True)
    page.goto(f"/tech/orders/{first.pk}/")
    queue_contact(page, first)  # its note carries customer data
    page.goto(f"/tech/orders/{second.pk}/")
    queue_depart(page, second)  # carries none
    assert "2 个步骤等待发送" in waiting(page, 2)
    Session.objects.all().delete()  # the session expires on the server
    with page.expect_navigation(url=re.compile(r"/tech/login/\?.*ended=1")):
        context.set_offline(False)  # the replay's first request answers 401
    said = page.inner_text("[data-session-ended]")  # zh-Hans once the catalogue has it
    assert "Your session has ended. Log in again" in said or "登录已过期" in said
    assert page.evaluate(LEFT_ON_THE_PHONE) == {"caches": [], "queue": ["depart"]}

    # Logged in again, the day is kept again; a copy fetched before yesterday is too old.
    context.route(ENDPOINT, lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({"status": "applied", "flag": "", "message": "", "code": "",
                         "version": 4})))
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-alice")
    page.click("button[type=submit].primary")
    page.goto("/tech/")
    page.wait_for_selector("html[data-kept]", state="attached")
    assert waiting(page, 0) == ""  # "on my way" was sent after the login
    page.evaluate("""async url => {
        const cache = await caches.open('fieldops-pages');
        const kept = await cache.match(url, { ignoreVary: true });
        const headers = new Headers(kept.headers), before = new Date();
        before.setHours(0, 0, 0, 0);
        before.setDate(before.getDate() - 1);  // yesterday 00:00, less a minute
        headers.set('date', new Date(before.getTime() - 60000).toUTCString());
        await cache.put(url, new Response(await kept.text(), { status: 200, headers }));
    }""", f"{phone_profile.base_url}/tech/orders/{first.pk}/")
    context.set_offline(True)
    page.goto(f"/tech/orders/{second.pk}/")
    assert page.get_attribute("html", "data-copy") == "kept"  # today's copy: shown
    page.goto(f"/tech/orders/{first.pk}/")
    assert "您已离线" in page.inner_text("main")  # the offline page, not the old copy
    assert first.number not in page.content()

    # A page asked online after the session ended: the worker drops the kept pages.
    context.set_offline(False)
    Session.objects.all().delete()
    page.goto(f"/tech/orders/{second.pk}/")
    page.wait_for_url(re.compile(r"/tech/login/\?.*ended=1"))
    assert page.is_visible("[data-session-ended]")
    assert page.evaluate(LEFT_ON_THE_PHONE)["caches"] == []


def test_a_step_whose_sending_fails_on_the_way_is_queued_by_the_worker(
        phone_profile, make_order, alice):
    # Issue 16 item 3: the phone says it is online (navigator.onLine stays true here) but
    # the network is gone: the page sends the form as usual, the worker's request fails, and
    # the worker queues the step and shows the kept order page; the page sends the queue
    # when the network is back.
    from workorders.models import ContactAttempt

    order = make_order(State.PREPARED, technician=alice)
    contacts = ContactAttempt.objects.filter(order=order).count()  # the walk's own call
    page = phone_profile.open()
    log_in_and_keep_the_day(page)
    context = phone_profile.context
    sent: list[dict[str, Any]] = []
    down = [True]  # Playwright answers a routed request even offline: no network here

    def answer(route: Any) -> None:
        if down[0]:
            route.abort("internetdisconnected")
            return
        form = fields_of(route.request)
        sent.append(form)
        route.fulfill(status=200, content_type="application/json", body=json.dumps({
            "status": "applied", "at": form["phone_at"], "received_at": form["phone_sent_at"],
            "flag": "", "message": "", "code": "", "version": None}))

    context.route(ENDPOINT, answer)
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'onLine', "
                            "{get: () => true})")
    page.goto(f"/tech/orders/{order.pk}/contact/")
    assert page.evaluate("navigator.onLine")
    page.check("input[name=outcome][value=reached]")
    before = dt.datetime.now(dt.UTC)
    context.set_offline(True)
    with page.expect_navigation(url=re.compile(rf"/tech/orders/{order.pk}/$")):
        page.click("button[data-submit]")
    assert page.get_attribute("html", "data-copy") == "kept"
    assert "1 个步骤等待发送" in waiting(page, 1)
    assert page.locator("[data-order-queue] li").get_attribute("data-queued") == "contact"
    assert ContactAttempt.objects.filter(order=order).count() == contacts  # it never arrived
    assert sent == []

    context.set_offline(False)
    down[0] = False
    page.reload()
    assert waiting(page, 0) == ""  # all sent
    assert [(f["order"], f["step"], f["outcome"], f["after"]) for f in sent] == [
        (str(order.pk), "contact", "reached", "")]
    assert before - dt.timedelta(seconds=1) <= dt.datetime.fromisoformat(sent[0]["phone_at"])


def test_a_photo_and_a_signature_made_offline_are_compressed_and_keep_what_they_carry(
        phone_profile, make_order, alice, tmp_path):
    # Issue 16 item 5 on the phone: a 12 MP photo at check-in (R17) goes out at most 1600 px
    # and 400 KB, with the position; the signature (R26) as a PNG with its strokes.
    import io

    from PIL import Image

    order = make_order(State.PREPARED, technician=alice)
    big = tmp_path / "door.jpg"
    Image.effect_noise((4000, 3000), 90).convert("RGB").save(big, "JPEG", quality=95)
    assert big.stat().st_size > 2_000_000
    page = phone_profile.open()
    log_in_and_keep_the_day(page)
    context = phone_profile.context
    context.set_offline(True)

    page.goto(f"/tech/orders/{order.pk}/check-in/")
    page.wait_for_selector("[data-geo-status][data-ok]", state="attached")
    page.set_input_files("input[name=photo]", str(big))
    with page.expect_navigation(url=re.compile(rf"/tech/orders/{order.pk}/$")):
        page.click("button[data-submit]")
    assert "1 个步骤等待发送" in waiting(page, 1)

    queue_sign_off(page, order)
    assert "2 个步骤等待发送" in waiting(page, 2)

    sent: list[dict[str, Any]] = []

    def answer(route: Any) -> None:
        sent.append(fields_of(route.request))
        route.fulfill(status=200, content_type="application/json", body=json.dumps({
            "status": "applied", "flag": "", "message": "", "code": "", "version": None}))

    context.route(ENDPOINT, answer)
    context.set_offline(False)
    assert waiting(page, 0) == ""
    check_in, sign_off = sent
    assert (check_in["step"], sign_off["step"]) == ("check-in", "sign-off")
    assert sign_off["after"] == check_in["client_id"]
    assert float(check_in["latitude"]) == pytest.approx(39.9087)  # the position
    photo = check_in["photo"]
    assert isinstance(photo, bytes) and len(photo) <= 400 * 1024
    with Image.open(io.BytesIO(photo)) as image:
        assert image.format == "JPEG" and max(image.size) <= 1600
        assert image.size[0] / image.size[1] == pytest.approx(4 / 3, rel=0.01)
    assert sign_off["signature"].startswith("data:image/png;base64,")
    strokes = json.loads(sign_off["strokes"])
    assert len(strokes) == 1 and len(strokes[0]) >= 2
    assert sign_off["signer_name"] == "张伟" and sign_off["rating"] == "5"
