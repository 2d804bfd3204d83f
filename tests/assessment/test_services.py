"""The ledger's writes: append-only entries (R53), appeals within the window, one per
entry, only one's own (R41), decided once by a supervisor; a reversal is a new entry."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.utils import IntegrityError
from django.utils import translation
from PIL import Image

from assessment import services
from assessment.models import Appeal, AppealPhoto, AppealStatus, AssessmentRule, Entry, EntryKind
from assessment.selectors import ledger_totals, statement_by_technician
from assessment.tasks import close_last_month
from notifications.models import Notification
from workorders.errors import NotPermitted, RuleViolation

from .helpers import entry

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=SH)

pytestmark = pytest.mark.django_db


def photo() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "JPEG")
    return SimpleUploadedFile("a.jpg", out.getvalue(), content_type="image/jpeg")


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_an_entry_is_never_changed_or_deleted(alice, at_t0):
    # R53: append-only, in the model, its queryset and the database
    e = entry(alice, at=T0)
    e.points = 0
    with pytest.raises(TypeError):
        e.save()
    with pytest.raises(TypeError):
        e.delete()
    with pytest.raises(TypeError):
        Entry.objects.filter(pk=e.pk).update(points=0)
    with pytest.raises(TypeError):
        Entry.objects.filter(pk=e.pk).delete()
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as c:
            c.execute("UPDATE assessment_entry SET points = 0 WHERE id = %s", [e.pk])
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as c:
            c.execute("DELETE FROM assessment_entry WHERE id = %s", [e.pk])
    assert Entry.objects.get(pk=e.pk).points == -1


def test_the_policy_row_in_force_on_the_day_prices_the_entry(alice, at_t0):
    # R53: points and amounts are policy, effective-dated
    AssessmentRule.objects.create(kind=EntryKind.BREACH_VISIT, effective_from=dt.date(2026, 11, 5),
                                  points=-4, amount=Decimal("-80.00"), appeal_window_days=3)
    before = entry(alice, kind=EntryKind.BREACH_VISIT, source="1", at=T0 - dt.timedelta(days=7))
    after = entry(alice, kind=EntryKind.BREACH_VISIT, source="2", at=T0)
    assert (before.points, before.amount) == (-2, Decimal("-50.00"))
    assert (after.points, after.amount) == (-4, Decimal("-80.00"))
    assert after.appeal_until == T0 + dt.timedelta(days=3)


def test_an_appeal_reversed_is_a_new_entry_and_the_month_is_net_of_it(alice, supervisor, at_t0):
    # R53: appeal within the window with text and a photo; the supervisor reverses; the
    # original is untouched; the reversal counts in the original's month
    kept = entry(alice, source="1", at=T0)
    appealed = entry(alice, kind=EntryKind.BREACH_VISIT, source="2", at=T0)
    at_t0.shift(dt.timedelta(days=6))
    appeal = services.appeal_file(entry_id=appealed.pk, by=alice.user,
                                  text="客户改约, 有短信截图", photos=[photo()])
    assert AppealPhoto.objects.filter(appeal=appeal).count() == 1
    at_t0.shift(dt.timedelta(days=30))  # decided in December
    services.appeal_decide(appeal_id=appeal.pk, by=supervisor, reverse=True, note="属实")
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.REVERSED and appeal.decided_by == supervisor
    reversal = Entry.objects.get(kind=EntryKind.REVERSAL)
    assert reversal.reverses == appealed and reversal.source_id == str(appealed.pk)
    assert (reversal.points, reversal.amount) == (2, Decimal("50.00"))
    assert reversal.period == dt.date(2026, 11, 1)
    original = Entry.objects.get(pk=appealed.pk)
    assert (original.points, original.amount, original.reason) == (-2, Decimal("-50.00"),
                                                                    appealed.reason)
    [line] = statement_by_technician(dt.date(2026, 11, 1))
    assert line.points == kept.points == -1
    assert line.amount == Decimal("-20.00")
    assert Notification.objects.filter(kind="assessment_appeal", recipient=alice.user).count() == 1


def test_an_upheld_appeal_writes_no_entry(alice, supervisor, at_t0):
    # R53
    e = entry(alice, at=T0)
    appeal = services.appeal_file(entry_id=e.pk, by=alice.user, text="不是我的责任")
    with pytest.raises(RuleViolation) as err:
        services.appeal_decide(appeal_id=appeal.pk, by=supervisor, reverse=False)
    assert err.value.field == "note"  # upholding says why
    services.appeal_decide(appeal_id=appeal.pk, by=supervisor, reverse=False, note="证据不足")
    assert Appeal.objects.get().status == AppealStatus.UPHELD
    assert Entry.objects.count() == 1


def test_an_appeal_after_its_window_is_refused_and_nothing_written(alice, at_t0):
    # R53: the policy's window (7 days by default)
    e = entry(alice, at=T0)
    at_t0.shift(dt.timedelta(days=7, seconds=1))
    with translation.override("zh-hans"), pytest.raises(RuleViolation) as err:
        services.appeal_file(entry_id=e.pk, by=alice.user, text="迟到的申诉", photos=[photo()])
    assert err.value.rule == "R53" and "申诉期" in err.value.message  # the window ended
    assert not Appeal.objects.exists() and not AppealPhoto.objects.exists()


def test_a_second_appeal_of_the_same_entry_is_refused(alice, at_t0):
    # R53: one appeal per entry
    e = entry(alice, at=T0)
    services.appeal_file(entry_id=e.pk, by=alice.user, text="第一次")
    with translation.override("zh-hans"), pytest.raises(RuleViolation) as err:
        services.appeal_file(entry_id=e.pk, by=alice.user, text="第二次")
    assert "已经申诉过" in err.value.message  # appealed already
    assert Appeal.objects.count() == 1


def test_an_appeal_of_someone_elses_entry_is_refused(alice, bob, at_t0):
    # R41: only one's own entries
    e = entry(alice, at=T0)
    with pytest.raises(RuleViolation) as err:
        services.appeal_file(entry_id=e.pk, by=bob.user, text="替别人申诉")
    assert err.value.rule == "R41"
    assert not Appeal.objects.exists()


def test_empty_text_and_a_file_that_is_not_a_photo_are_refused(alice, at_t0):
    # R53: a clear message, nothing written
    e = entry(alice, at=T0)
    with pytest.raises(RuleViolation) as err:
        services.appeal_file(entry_id=e.pk, by=alice.user, text="  ")
    assert err.value.field == "text"
    bad = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    with pytest.raises(RuleViolation) as err:
        services.appeal_file(entry_id=e.pk, by=alice.user, text="有照片", photos=[bad])
    assert err.value.field == "photos"
    assert not Appeal.objects.exists()


def test_deciding_twice_is_refused(alice, supervisor, at_t0):
    # R53: a decision is made once
    e = entry(alice, at=T0)
    appeal = services.appeal_file(entry_id=e.pk, by=alice.user, text="申诉")
    services.appeal_decide(appeal_id=appeal.pk, by=supervisor, reverse=True)
    with pytest.raises(RuleViolation) as err:
        services.appeal_decide(appeal_id=appeal.pk, by=supervisor, reverse=True)
    assert err.value.status == 409
    assert Entry.objects.filter(kind=EntryKind.REVERSAL).count() == 1


def test_a_dispatcher_or_a_technician_cannot_decide(alice, dispatcher, at_t0):
    # R53: supervisors decide
    e = entry(alice, at=T0)
    appeal = services.appeal_file(entry_id=e.pk, by=alice.user, text="申诉")
    for who in (dispatcher, alice.user):
        with pytest.raises(NotPermitted):
            services.appeal_decide(appeal_id=appeal.pk, by=who, reverse=True)
    assert Appeal.objects.get().status == AppealStatus.PENDING
    assert Entry.objects.count() == 1


def test_an_exemption_reverses_the_breach_entry_once(alice, supervisor, at_t0):
    # R50: a breach exempted after its entry was written is reversed, once
    e = entry(alice, source="77", at=T0)
    assert services.entries_exempted(timer_ids=[77], by=supervisor, reason="暴雨") == 1
    assert services.entries_exempted(timer_ids=[77], by=supervisor, reason="暴雨") == 0
    reversal = Entry.objects.get(kind=EntryKind.REVERSAL)
    assert reversal.reverses_id == e.pk and reversal.points == 1


def test_a_month_without_a_standing_deduction_earns_the_positive_entry(
        make_order, alice, bob, west):
    # R53: positive entries where the policy gives them; once per technician and month
    with time_machine.travel(T0 - dt.timedelta(days=2), tick=False):
        make_order("completed", technician=alice)
        make_order("completed", technician=bob, area=west)
    with time_machine.travel(T0, tick=False):
        e = entry(bob, source="9", at=T0)  # bob has a deduction that stands
    with time_machine.travel(dt.datetime(2026, 12, 2, 9, 0, tzinfo=SH), tick=False):
        close_last_month()
        close_last_month()
    [positive] = Entry.objects.filter(kind=EntryKind.ON_TIME_MONTH)
    assert positive.technician == alice and positive.points == 2
    assert positive.period == dt.date(2026, 11, 1)
    assert not Entry.objects.filter(kind=EntryKind.ON_TIME_MONTH, technician=bob).exists()
    assert e.points < 0


def test_ledger_totals_net_per_technician_over_months(alice, bob, supervisor, at_t0):
    # R53 (issue 17, part 6): the supervisors' ledger figure, net of reversals
    e = entry(alice, source="1", at=T0)
    entry(alice, kind=EntryKind.BREACH_VISIT, source="2", at=T0 + dt.timedelta(days=25))
    entry(bob, source="3", at=T0)
    appeal = services.appeal_file(entry_id=e.pk, by=alice.user, text="申诉")
    services.appeal_decide(appeal_id=appeal.pk, by=supervisor, reverse=True)
    nov = {r["technician__employee_no"]: (r["entries"], r["points"], r["amount"])
           for r in ledger_totals(dt.date(2026, 11, 1), dt.date(2026, 11, 1))}
    assert nov == {"T-alice": (2, 0, Decimal("0.00")), "T-bob": (1, -1, Decimal("-20.00"))}
    both = {r["technician__employee_no"]: r["points"]
            for r in ledger_totals(dt.date(2026, 11, 1), dt.date(2026, 12, 1))}
    assert both == {"T-alice": -2, "T-bob": -1}
