"""``POST /api/v1/field/steps/``: a step the phone queued offline, sent when it is back
online (issue 16): the same form, check and service call as the page, applied once, at the
phone's time when plausible; a refusal answers with plain words and the matching status."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from appointments.models import Appointment, AppointmentStatus
from tests.fieldapp.helpers import jpeg, upload
from workorders.events import OrderAction
from workorders.models import PhoneStep, PhoneStepStatus, Photo, State, WorkOrderEvent

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
URL = "/api/v1/field/steps/"


def local(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, 8, hour, minute, tzinfo=TZ)


@pytest.fixture
def morning():
    with time_machine.travel(local(8), tick=False) as traveller:
        yield traveller


def send(client: Any, order: Any, step: str, *, done: dt.datetime, sent: dt.datetime,
         client_id: uuid.UUID | None = None, version: int | None = None,
         after: uuid.UUID | None = None, **fields: Any) -> Any:
    data: dict[str, Any] = {"client_id": str(client_id or uuid.uuid4()), "order": order.pk,
                            "step": step, "phone_at": done.isoformat(),
                            "phone_sent_at": sent.isoformat(), **fields}
    if after is not None:
        data["after"] = str(after)
    else:
        data["version"] = order.version if version is None else version
    return client.post(URL, data=data, HTTP_ACCEPT_LANGUAGE="en")


def drawn_offline() -> dict[str, str]:
    """The sign-off form's fields as the phone queued them (R26: the drawing, its strokes)."""
    from tests.fieldapp.helpers import STROKES_JSON, signature_png

    return {"signature": signature_png(), "strokes": STROKES_JSON, "signer_name": "张伟",
            "rating": "5", "comment": ""}


def test_the_url_is_the_documented_one():
    assert reverse("field:steps") == URL


def test_a_day_done_offline_is_recorded_at_the_phones_times(morning, make_order, alice,
                                                            alice_client):
    # Issue 16 items 3 and 5, R13, R17, R14: on my way at 09:40 and checked in at 10:02
    # with the door photo, all offline; the phone sends both at 10:40. Recorded at the
    # phone's times, so the 10:00 booking was kept on time; the photo is stored.
    order = make_order(State.PREPARED, technician=alice)
    morning.move_to(local(10, 40))
    first = uuid.uuid4()
    going = send(alice_client, order, "depart", done=local(9, 40), sent=local(10, 40),
                 client_id=first)
    assert going.status_code == 200, going.content
    assert going.json()["status"] == "applied"
    arrived = send(alice_client, order, "check-in", done=local(10, 2), sent=local(10, 40),
                   after=first, latitude="39.9", longitude="116.4", photo=upload())
    assert arrived.status_code == 200, arrived.content
    answer = arrived.json()
    assert answer["status"] == "applied" and answer["flag"] == ""
    assert dt.datetime.fromisoformat(answer["at"]) == local(10, 2)
    assert dt.datetime.fromisoformat(answer["received_at"]) == local(10, 40)

    order.refresh_from_db()
    assert order.state == State.ON_SITE and order.version == answer["version"]
    check_in = WorkOrderEvent.objects.get(order=order, action=OrderAction.CHECK_IN)
    assert check_in.at == local(10, 2) and check_in.received_at == local(10, 40)
    assert WorkOrderEvent.objects.get(order=order, action=OrderAction.DEPART).at == local(9, 40)
    booked = Appointment.objects.get(order=order, status=AppointmentStatus.KEPT)
    assert booked.arrived_at == local(10, 2) and not booked.late
    assert Photo.objects.filter(order=order).count() == 1

    # The same step again (the answer was lost): one effect, the first outcome.
    again = send(alice_client, order, "depart", done=local(9, 40), sent=local(10, 41),
                 client_id=first)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert WorkOrderEvent.objects.filter(order=order, action=OrderAction.DEPART).count() == 1


def test_a_step_made_on_an_order_reassigned_meanwhile_is_refused_and_kept(
        morning, make_order, alice, bob, alice_client, dispatcher):
    # Issue 16 item 4: given to someone else while the phone was offline: 409, plain words.
    from workorders import services

    order = make_order(State.TAKEN, technician=alice)
    seen = order.version
    morning.move_to(local(9))
    services.work_order_unassign(order=order, by=dispatcher, reason="Alice is ill")
    morning.move_to(local(10, 40))
    refused = send(alice_client, order, "contact", done=local(8, 30), sent=local(10, 40),
                   version=seen, channel="phone", outcome="reached")
    assert refused.status_code == 409, refused.content
    answer = refused.json()
    assert answer["status"] == "refused" and answer["code"] == "conflict"
    assert "another technician" in answer["message"] and "dispatcher" in answer["message"]
    assert PhoneStep.objects.get().status == PhoneStepStatus.REFUSED
    assert not WorkOrderEvent.objects.filter(order=order, action=OrderAction.LOG_CONTACT).exists()


def test_bad_steps_are_refused_with_a_reason_and_change_nothing(morning, make_order, alice,
                                                                bob, alice_client):
    order = make_order(State.EN_ROUTE, technician=alice)
    morning.move_to(local(10, 5))
    # no client id
    missing = alice_client.post(URL, data={"order": order.pk, "step": "check-in",
                                           "phone_at": local(10, 2).isoformat(),
                                           "phone_sent_at": local(10, 5).isoformat(),
                                           "version": order.version},
                                HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 400
    assert "client_id" in missing.json()["message"]
    # a forged client id
    forged = alice_client.post(URL, data={"client_id": "not-a-uuid", "order": order.pk,
                                          "step": "check-in",
                                          "phone_at": local(10, 2).isoformat(),
                                          "phone_sent_at": local(10, 5).isoformat(),
                                          "version": order.version},
                               HTTP_ACCEPT_LANGUAGE="en")
    assert forged.status_code == 400 and "client_id" in forged.json()["message"]
    # an unknown step
    unknown = send(alice_client, order, "teleport", done=local(10, 2), sent=local(10, 5))
    assert unknown.status_code == 400 and unknown.json()["code"] == "invalid"
    # the form's own rule: the door photo is missing (R17)
    no_photo = send(alice_client, order, "check-in", done=local(10, 2), sent=local(10, 5))
    assert no_photo.status_code == 422, no_photo.content
    assert no_photo.json()["code"] == "rule"
    # a corrupted photo
    broken = send(alice_client, order, "check-in", done=local(10, 2), sent=local(10, 5),
                  photo=upload(b"not a picture at all"))
    assert broken.status_code == 422 and broken.json()["message"]
    # a step that is not possible in this state
    late = send(alice_client, order, "complete", done=local(10, 2), sent=local(10, 5))
    assert late.status_code == 422 and "not possible now" in late.json()["message"]
    # a time far in the future is not used: the arrival is, flagged (and the rest goes on)
    future = send(alice_client, order, "check-in", done=local(23), sent=local(10, 5),
                  photo=upload(jpeg()))
    assert future.status_code == 200, future.content
    assert future.json()["flag"] and (dt.datetime.fromisoformat(future.json()["at"])
                                      == local(10, 5))
    order.refresh_from_db()
    assert order.state == State.ON_SITE
    assert WorkOrderEvent.objects.filter(order=order, action=OrderAction.CHECK_IN).count() == 1


def test_another_technicians_order_is_forbidden(morning, make_order, bob, bob_client, alice,
                                                caplog):
    # R41: refused and logged; nothing changes on alice's order.
    order = make_order(State.EN_ROUTE, technician=alice)
    answer = send(bob_client, order, "check-in", done=local(7, 55), sent=local(8),
                  photo=upload())
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    assert any("R41" in record.getMessage() for record in caplog.records)
    order.refresh_from_db()
    assert order.state == State.EN_ROUTE


def test_only_technicians_signed_in_on_the_pages_may_send(client, dispatcher, make_order,
                                                          alice):
    order = make_order(State.EN_ROUTE, technician=alice)
    data = {"client_id": str(uuid.uuid4()), "order": order.pk, "step": "depart",
            "phone_at": local(8).isoformat(), "phone_sent_at": local(8).isoformat(),
            "version": order.version}
    assert client.post(URL, data=data).status_code in (401, 403)
    client.force_login(dispatcher)
    assert client.post(URL, data=data).status_code == 403
    assert not PhoneStep.objects.exists()


def test_a_breach_raised_while_the_phone_was_offline_is_withdrawn(morning, make_order, alice,
                                                                  alice_client):
    # Issue 16 item 3, R38, R14: the sweep broke the arrival promise at its due time while
    # the phone was offline; the check-in done at 10:02 arrives at 10:40 and withdraws it.
    # The breach stays in the timer's history.
    from sla import engine
    from sla.timers import Timer, TimerEventKind

    order = make_order(State.EN_ROUTE, technician=alice)
    morning.move_to(local(10, 20))
    engine.sweep_all()
    timer = Timer.objects.get(order=order, kind="arrival")
    assert timer.breached_at is not None
    morning.move_to(local(10, 40))
    answer = send(alice_client, order, "check-in", done=local(10, 2), sent=local(10, 40),
                  photo=upload())
    assert answer.status_code == 200, answer.content
    timer.refresh_from_db()
    assert timer.breached_at is None and timer.outcome == "met"
    assert timer.events.filter(kind=TimerEventKind.BREACHED).exists()
    withdrawn = timer.events.get(kind=TimerEventKind.WITHDRAWN,
                                 withdraws=timer.events.get(kind="breached").level)
    assert withdrawn.at == local(10, 2) and withdrawn.recorded_at == local(10, 40)


def test_a_sign_off_drawn_offline_is_bound_to_the_phones_time_and_a_bad_one_is_refused(
        morning, make_order, alice, alice_client, settings):
    # Issue 16 item 5, R26: the drawing and its strokes made offline are bound to the order
    # and the phone's time, sealed as online; a corrupted drawing is refused with a reason
    # and the next step in the queue still goes through.
    from tests.fieldapp.helpers import STROKES_JSON, on_site_with_report, signature_png
    from workorders.models import Signature

    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    other = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    morning.move_to(local(11, 30))
    corrupted = send(alice_client, other, "sign-off", done=local(11, 5), sent=local(11, 30),
                     signature="data:image/png;base64,!!!not-a-png", strokes=STROKES_JSON,
                     signer_name="李娜", rating="5", comment="")
    assert corrupted.status_code == 422, corrupted.content
    assert corrupted.json()["code"] == "rule" and corrupted.json()["message"]
    signed = send(alice_client, order, "sign-off", done=local(11, 10), sent=local(11, 30),
                  signature=signature_png(), strokes=STROKES_JSON, signer_name="张伟",
                  rating="5", comment="师傅很专业")
    assert signed.status_code == 200, signed.content
    signature = Signature.objects.get(order=order)
    assert signature.signed_at == local(11, 10) and signature.seal_valid
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.SIGN_OFF)
    assert event.at == local(11, 10) and event.received_at == local(11, 30)
    other.refresh_from_db()
    assert other.state == State.ON_SITE and not Signature.objects.filter(order=other).exists()


def test_an_oversized_photo_is_refused_and_nothing_is_stored(morning, make_order, alice,
                                                             alice_client, settings):
    # Issue 16, bad input: a photo above the upload limit is refused with the reason
    settings.PHOTO_MAX_UPLOAD_BYTES = 50_000
    order = make_order(State.EN_ROUTE, technician=alice)
    morning.move_to(local(10, 5))
    big = send(alice_client, order, "check-in", done=local(10, 2), sent=local(10, 5),
               photo=upload(jpeg(3000, 2000)))
    assert big.status_code == 422, big.content
    assert big.json()["message"]
    assert not Photo.objects.filter(order=order).exists()
    order.refresh_from_db()
    assert order.state == State.EN_ROUTE


def test_a_sign_off_drawn_offline_waits_for_the_customers_code_when_one_is_required(
        morning, make_order, alice, alice_client, settings):
    # Issue 16 item 5, R26 strong form: a sign-off drawn offline where the SMS code is
    # required is held, not refused: the code goes to the customer's phone when the step
    # arrives, a wrong code keeps it held (and counts as a try), and the same step with the
    # right code is applied at the time the signature was drawn.
    from notifications.models import Notification
    from tests.fieldapp.helpers import on_site_with_report
    from workorders.models import Signature, SignOffCode, SignOffMethod

    settings.SIGN_OFF_REQUIRE_SMS_CODE = True
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    version = order.version
    client_id = uuid.uuid4()
    drawn = drawn_offline()
    morning.move_to(local(11, 30))
    held = send(alice_client, order, "sign-off", done=local(11, 10), sent=local(11, 30),
                client_id=client_id, **drawn)
    assert held.status_code == 202, held.content
    assert held.json()["status"] == "held" and "code" in held.json()["message"]
    order.refresh_from_db()
    assert order.state == State.ON_SITE and not Signature.objects.filter(order=order).exists()
    step = PhoneStep.objects.get(client_id=client_id)
    assert step.status == PhoneStepStatus.HELD and step.recorded_at == local(11, 10)
    sms = Notification.objects.filter(order=order, kind="sign_off_code")
    assert sms.count() == 1
    code = re.search(r"\b(\d{6})\b", sms.get().body).group(1)

    # Sent again without the code (a retry): still held, no second SMS.
    morning.move_to(local(11, 31))
    again = send(alice_client, order, "sign-off", done=local(11, 10), sent=local(11, 31),
                 client_id=client_id, version=version, **drawn)
    assert again.status_code == 202 and again.json()["status"] == "held"
    assert sms.count() == 1

    wrong = "000000" if code != "000000" else "111111"
    refused_try = send(alice_client, order, "sign-off", done=local(11, 10),
                       sent=local(11, 32), client_id=client_id, version=version,
                       code=wrong, **drawn)
    assert refused_try.status_code == 202, refused_try.content
    assert refused_try.json()["status"] == "held"
    assert "not the one sent" in refused_try.json()["message"]
    assert SignOffCode.objects.get(order=order).attempts == 1  # counted although rolled back
    assert not Signature.objects.filter(order=order).exists()

    morning.move_to(local(11, 34))
    done = send(alice_client, order, "sign-off", done=local(11, 10), sent=local(11, 34),
                client_id=client_id, version=version, code=code, **drawn)
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "applied" and done.json()["at"].startswith(
        "2026-12-08T11:10")
    order.refresh_from_db()
    assert order.state == State.SIGNED_OFF
    signature = Signature.objects.get(order=order)
    assert signature.method == SignOffMethod.SMS_CODE and signature.seal_valid
    assert signature.signed_at == local(11, 10) and signature.code_verified_at == local(11, 34)
    event = WorkOrderEvent.objects.get(order=order, action=OrderAction.SIGN_OFF)
    assert event.at == local(11, 10) and event.received_at == local(11, 34)
    step.refresh_from_db()
    assert step.status == PhoneStepStatus.APPLIED and step.event == event
    # Once applied, the same step again is a duplicate with one effect.
    twice = send(alice_client, order, "sign-off", done=local(11, 10), sent=local(11, 35),
                 client_id=client_id, version=version, code=code, **drawn)
    assert twice.json()["status"] == "duplicate"
    assert WorkOrderEvent.objects.filter(order=order, action=OrderAction.SIGN_OFF).count() == 1


def test_a_held_sign_off_is_refused_when_the_order_changed_meanwhile(
        morning, make_order, alice, alice_client, dispatcher, settings):
    # Issue 16 item 4 with R26: while the sign-off waits for the code, the order is
    # cancelled; the code sent later applies nothing.
    from tests.fieldapp.helpers import on_site_with_report
    from workorders import services
    from workorders.models import Signature

    settings.SIGN_OFF_REQUIRE_SMS_CODE = True
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    client_id = uuid.uuid4()
    drawn = drawn_offline()
    morning.move_to(local(11, 30))
    held = send(alice_client, order, "sign-off", done=local(11, 10), sent=local(11, 30),
                client_id=client_id, **drawn)
    assert held.json()["status"] == "held"
    order.refresh_from_db()
    services.work_order_cancel(order=order, by=dispatcher, reason="客户取消")
    morning.move_to(local(11, 40))
    late = send(alice_client, order, "sign-off", done=local(11, 10), sent=local(11, 40),
                client_id=client_id, version=1, code="123456", **drawn)
    assert late.status_code == 409, late.content
    assert late.json()["code"] == "conflict" and "cancelled" in late.json()["message"]
    assert not Signature.objects.filter(order=order).exists()
    assert PhoneStep.objects.get(client_id=client_id).status == PhoneStepStatus.REFUSED


def test_a_check_in_done_in_time_offline_withdraws_the_miss_the_sweep_recorded_meanwhile(
        morning, make_order, alice, alice_client, supervisor):
    # Issue 16 items 3 and 4 with R14, R16, R42, R53: booked 10:00-11:00; alice checks in
    # at 10:02 in a basement; R16's sweep finds nobody checked in by 12:00 and records the
    # booking as missed by us (the order changes: a new version, the supervisor told, a
    # ledger entry). Her check-in reaches the server at 12:10: it is not a conflict (the
    # product's own change, which it makes wrong), it is applied at 10:02 on time, and the
    # miss is withdrawn: the count goes back, the history keeps both, the supervisor is told,
    # the entry is reversed.
    from appointments.services import appointments_sweep_missed
    from assessment.models import Entry, EntryKind
    from notifications.models import Notification

    order = make_order(State.EN_ROUTE, technician=alice)
    seen = order.version
    morning.move_to(local(12, 5))
    assert appointments_sweep_missed() == 1
    order.refresh_from_db()
    assert order.our_missed_appointments == 1 and order.version == seen + 1
    missed = Entry.objects.get(technician=alice, kind=EntryKind.MISSED_APPOINTMENT)

    morning.move_to(local(12, 10))
    arrived = send(alice_client, order, "check-in", done=local(10, 2), sent=local(12, 10),
                   version=seen, latitude="39.9", longitude="116.4", photo=upload())
    assert arrived.status_code == 200, arrived.content
    assert arrived.json()["status"] == "applied" and arrived.json()["flag"] == ""
    assert dt.datetime.fromisoformat(arrived.json()["at"]) == local(10, 2)

    order.refresh_from_db()
    assert order.state == State.ON_SITE and order.our_missed_appointments == 0
    booking = Appointment.objects.get(order=order, start=local(10))
    assert booking.status == AppointmentStatus.KEPT and booking.arrived_at == local(10, 2)
    assert not booking.late
    withdrawn = WorkOrderEvent.objects.get(order=order,
                                           action=OrderAction.APPOINTMENT_MISS_WITHDRAWN)
    assert withdrawn.at == local(12, 10) and withdrawn.actor is None
    assert withdrawn.payload["appointment"] == booking.pk
    assert WorkOrderEvent.objects.filter(order=order,
                                         action=OrderAction.APPOINTMENT_MISSED).count() == 1
    told = Notification.objects.filter(kind="appointment_missed", recipient=supervisor)
    assert told.count() == 2 and "withdrawn" in told.latest("id").body
    reversal = Entry.objects.get(reverses=missed)
    assert reversal.kind == EntryKind.REVERSAL and reversal.points == -missed.points
    assert reversal.occurred_at == local(12, 10)


def test_a_miss_recorded_after_a_late_check_in_is_not_withdrawn(morning, make_order, alice,
                                                               alice_client):
    # R16 stands when the check-in itself came after the sweep's deadline (12:00): the
    # check-in is applied (the technician did arrive, before the miss was recorded) but
    # the miss is not withdrawn.
    from appointments.services import appointments_sweep_missed

    order = make_order(State.EN_ROUTE, technician=alice)
    seen = order.version
    morning.move_to(local(12, 5))
    assert appointments_sweep_missed() == 1
    morning.move_to(local(12, 10))
    late = send(alice_client, order, "check-in", done=local(12, 3), sent=local(12, 10),
                version=seen, latitude="39.9", longitude="116.4", photo=upload())
    assert late.status_code == 200, late.content
    assert dt.datetime.fromisoformat(late.json()["at"]) == local(12, 3)
    order.refresh_from_db()
    assert order.state == State.ON_SITE and order.our_missed_appointments == 1
    assert Appointment.objects.get(order=order, start=local(10)).status == (
        AppointmentStatus.MISSED_BY_US)
    assert not WorkOrderEvent.objects.filter(
        order=order, action=OrderAction.APPOINTMENT_MISS_WITHDRAWN).exists()


def test_no_answer_is_kept_by_a_cache(morning, make_order, alice, alice_client, client):
    # Defect (issue 18 item 6): the endpoint sent no Cache-Control, so a shared phone's
    # browser or a proxy could keep an answer naming a customer's order; refusals too.
    order = make_order(State.PREPARED, technician=alice)
    applied = send(alice_client, order, "depart", done=local(8), sent=local(8))
    refused = send(alice_client, order, "no-such-step", done=local(8), sent=local(8))
    anonymous = client.post(URL, data={})
    assert (applied.status_code, refused.status_code) == (200, 400), refused.content
    assert anonymous.status_code in (401, 403)
    for answer in (applied, refused, anonymous):
        directives = {d.strip() for d in answer["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= directives, answer["Cache-Control"]
