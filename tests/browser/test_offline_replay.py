"""A day offline, end to end (issue 16): the phone's queue replayed to the real endpoint
(``POST /api/v1/field/steps/``, ``workorders.offline.replay``) by the live server, in real
Chromium with the network switched off and the browser restarted in between; then the
server's own records are checked: the events carry the times the steps were done on the
phone and when they arrived, the photo is stored, a duplicate has one effect, and a step
made on an order that was given to someone else meanwhile is refused and shown."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from fieldops import clock
from notifications.models import Notification
from tests.fieldapp.helpers import jpeg, on_site_with_report
from workorders import lifecycle, services
from workorders.events import OrderAction
from workorders.models import (
    PhoneStep,
    PhoneStepStatus,
    Photo,
    Signature,
    SignOffMethod,
    State,
    WorkOrderEvent,
)

from .test_offline import (
    log_in_and_keep_the_day,
    phone_profile,
    queue_contact,
    queue_sign_off,
    waiting,
)

__all__ = ["phone_profile"]  # the fixture, shared with the phone-side tests

pytestmark = pytest.mark.django_db(transaction=True)


def test_steps_done_offline_reach_the_server_with_the_phones_times(phone_profile, make_order,
                                                                   alice, tmp_path):
    # Issue 16 items 1-3 and 5; R7, R13, R17, R42: contact, on my way and check-in with
    # the door photo, all offline on an order never opened online; the browser restarts;
    # back online, the queue goes to the server, which records each at its phone time.
    order = make_order(State.PREPARED, technician=alice)
    page = phone_profile.open()
    log_in_and_keep_the_day(page)
    phone_profile.context.set_offline(True)
    done_from = clock.now()
    page.goto(f"/tech/orders/{order.pk}/")
    queue_contact(page, order)
    with page.expect_navigation(url=re.compile(rf"/tech/orders/{order.pk}/$")):
        page.click("[data-offline-visit] [data-visit-step=depart]")
    page.click("[data-offline-visit] [data-visit-step=check-in]")
    page.wait_for_url(re.compile(rf"/tech/orders/{order.pk}/check-in/$"))
    door = tmp_path / "door.jpg"
    door.write_bytes(jpeg())
    page.set_input_files("input[name=photo]", str(door))
    with page.expect_navigation(url=re.compile(rf"/tech/orders/{order.pk}/$")):
        page.click("button[data-submit]")
    assert "3 个步骤等待发送" in waiting(page, 3)
    done_by = clock.now()
    phone_profile.close()

    page = phone_profile.open()  # the phone restarts, still offline
    phone_profile.context.set_offline(True)
    page.goto(f"/tech/orders/{order.pk}/")
    assert "3 个步骤等待发送" in waiting(page, 3)
    assert not PhoneStep.objects.exists()
    online_at = clock.now()
    phone_profile.context.set_offline(False)
    assert waiting(page, 0) == ""  # all sent and applied

    steps = list(PhoneStep.objects.order_by("received_at", "pk"))
    assert [(s.step, s.status) for s in steps] == [
        ("contact", PhoneStepStatus.APPLIED), ("depart", PhoneStepStatus.APPLIED),
        ("check-in", PhoneStepStatus.APPLIED)], [(s.step, s.status, s.message) for s in steps]
    assert steps[1].after == steps[0].client_id and steps[2].after == steps[1].client_id
    order.refresh_from_db()
    assert order.state == State.ON_SITE
    for step, action in zip(steps, (OrderAction.LOG_CONTACT, OrderAction.DEPART,
                                    OrderAction.CHECK_IN), strict=True):
        event = WorkOrderEvent.objects.get(order=order, action=action)
        assert step.event_id == event.pk and step.flag == ""
        # done on the phone while offline; reached the server after it came back online
        assert done_from - dt.timedelta(seconds=1) <= event.at <= done_by
        assert event.at == step.recorded_at and step.received_at >= online_at
        assert event.received_at is not None  # both times kept (R42)
        assert step.received_at <= event.received_at <= clock.now()
    assert Photo.objects.filter(order=order).count() == 1


def test_a_step_made_on_an_order_given_to_someone_else_is_refused_and_shown(
        phone_profile, make_order, alice, dispatcher):
    # Issue 16 item 4: the dispatcher takes the order off alice while her phone is offline;
    # her contact attempt made offline is refused with what to do, and kept for the desk.
    order = make_order(State.TAKEN, technician=alice)
    page = phone_profile.open()
    log_in_and_keep_the_day(page)
    phone_profile.context.set_offline(True)
    page.goto(f"/tech/orders/{order.pk}/")
    queue_contact(page, order)
    assert "1 个步骤等待发送" in waiting(page, 1)
    services.work_order_unassign(order=order, by=dispatcher, reason="改派 another team")
    phone_profile.context.set_offline(False)
    page.wait_for_selector("[data-not-sent]:not([hidden])")
    assert waiting(page, 0) == ""
    text = page.inner_text("[data-not-sent]")
    assert "改派给其他技术员" in text and "请联系调度" in text, text
    kept = PhoneStep.objects.get()
    assert kept.status == PhoneStepStatus.REFUSED and kept.code == "conflict"
    assert not WorkOrderEvent.objects.filter(order=order,
                                             action=OrderAction.LOG_CONTACT).exists()


def test_a_sign_off_drawn_offline_is_finished_with_the_customers_code_when_back_online(
        phone_profile, make_order, alice, settings, tmp_path, monkeypatch):
    # Issue 16 items 2, 3 and 5 with R26 (strong form) and R44: the clean-up with its photo
    # and the customer's signature, both offline on the kept pages; back online, the
    # clean-up is applied and the sign-off is held while the code goes to the customer's
    # phone; the technician types it in on the page and the sign-off is final, at the time
    # the signature was drawn.
    settings.SIGN_OFF_REQUIRE_SMS_CODE = True
    # The event keeps when the step reached the server once that is more than a second
    # after it was done; here the code can come back within the second.
    monkeypatch.setattr(lifecycle, "REPLAY_SLACK", dt.timedelta(0))
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    page = phone_profile.open()
    log_in_and_keep_the_day(page)
    phone_profile.context.set_offline(True)
    drawn_from = clock.now()
    page.goto(f"/tech/orders/{order.pk}/cleanup/")
    page.check("input[name=done]")
    photo = tmp_path / "tidy.jpg"
    photo.write_bytes(jpeg())
    page.set_input_files("input[name=photo]", str(photo))
    with page.expect_navigation(url=re.compile(rf"/tech/orders/{order.pk}/$")):
        page.click("button[data-submit]")
    queue_sign_off(page, order)
    assert "2 个步骤等待发送" in waiting(page, 2)
    drawn_by = clock.now()

    phone_profile.context.set_offline(False)
    page.wait_for_selector("[data-held]:not([hidden])")
    assert "等待客户的验证码" in page.inner_text("[data-held]")
    cleanup, sign_off = PhoneStep.objects.order_by("received_at", "pk")
    assert cleanup.status == PhoneStepStatus.APPLIED and sign_off.status == PhoneStepStatus.HELD
    order.refresh_from_db()
    assert order.state == State.ON_SITE and not Signature.objects.filter(order=order).exists()
    sms = Notification.objects.get(order=order, kind="sign_off_code")
    code = re.search(r"\b(\d{6})\b", sms.body).group(1)
    phone_profile.shot("sign-off-held-for-the-code")

    page.fill("[data-held] input[name=code]", code)
    page.click("[data-held] button[type=submit]")
    page.wait_for_selector("[data-held]", state="hidden")
    assert waiting(page, 0) == ""
    order.refresh_from_db()
    assert order.state == State.SIGNED_OFF
    signature = Signature.objects.get(order=order)
    assert signature.method == SignOffMethod.SMS_CODE and signature.seal_valid
    assert drawn_from - dt.timedelta(seconds=1) <= signature.signed_at <= drawn_by
    assert signature.code_verified_at > drawn_by
    sign_off.refresh_from_db()
    assert sign_off.status == PhoneStepStatus.APPLIED
    assert sign_off.recorded_at == signature.signed_at
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.SIGN_OFF)
    assert event.at == signature.signed_at
    assert event.received_at is not None and event.received_at > event.at
