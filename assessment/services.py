"""Every write of the assessment ledger (R53): entries exactly once, appeals, decisions.

Entry sources (``sources.py``) turn lifecycle and SLA events into ``NewEntry`` values and
call ``record_entries``: one ``INSERT … ON CONFLICT DO NOTHING`` on the unique key (kind,
source), so a retried job, a replayed event or two transactions racing for the same event
write one row. The technician's in-app note of a new deduction carries the same key as its
dedupe key, so it is written once too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fieldops import clock
from notifications.models import Channel
from notifications.services import notify_many
from technicians.models import Technician
from workorders.errors import NotPermitted, RuleViolation
from workorders.images import files_discarded_on_error, prepare_image, remember_stored

from .models import (
    DEFAULT_APPEAL_DAYS,
    DEFAULT_POLICY,
    Appeal,
    AppealPhoto,
    AppealStatus,
    AssessmentRule,
    Entry,
    EntryKind,
)


class AlreadyDecided(RuleViolation):
    """A second decision of one appeal (R53): a conflict, nothing written."""

    status = 409


#: At most this many photos with one appeal.
APPEAL_MAX_PHOTOS = 5


def month_of(moment: dt.datetime) -> dt.date:
    """The first day of the month ``moment`` falls in, in the operator's time zone."""
    return timezone.localtime(moment).date().replace(day=1)


@dataclasses.dataclass(frozen=True)
class Price:
    points: int
    amount: Decimal
    appeal_days: int
    rule: AssessmentRule | None


def price_of(kind: str, day: dt.date) -> Price:
    """The policy row in force on ``day`` for ``kind`` (the newest one effective on or
    before it), or the built-in default when the table has none (R53: policy)."""
    return _prices({kind}, day)(kind, day)


def _prices(kinds: set[str], last_day: dt.date) -> Callable[[str, dt.date], Price]:
    """One read of the policy rows of ``kinds`` up to ``last_day``; the returned function
    prices a (kind, day) from them (the newest row effective on the day, else the
    default), so a batch of any size costs one query."""
    rules: dict[str, list[AssessmentRule]] = {}
    for rule in (AssessmentRule.objects.filter(kind__in=kinds, effective_from__lte=last_day)
                 .order_by("kind", "-effective_from")):
        rules.setdefault(rule.kind, []).append(rule)

    def price(kind: str, day: dt.date) -> Price:
        for rule in rules.get(kind, ()):
            if rule.effective_from <= day:
                return Price(rule.points, rule.amount, rule.appeal_window_days, rule)
        points, amount = DEFAULT_POLICY.get(kind, (0, Decimal("0.00")))
        return Price(points, amount, DEFAULT_APPEAL_DAYS, None)

    return price


@dataclasses.dataclass(frozen=True)
class NewEntry:
    """What a source asks the ledger to record."""

    kind: str
    technician_id: int
    source_type: str
    source_id: str
    occurred_at: dt.datetime
    reason: str
    order_id: int | None = None


def _note_key(kind: str, source_type: str, source_id: str) -> str:
    return f"assessment:{kind}:{source_type}:{source_id}"


def record_entries(wanted: Sequence[NewEntry]) -> int:
    """Record entries once each (R53): rows whose (kind, source) exists are skipped by the
    database (``ON CONFLICT DO NOTHING``), inside the caller's transaction. A new
    deduction tells the technician in the app (deduplicated by the same key). Returns how
    many were asked for."""
    if not wanted:
        return 0
    now = clock.now()
    days = [timezone.localdate(item.occurred_at) for item in wanted]
    price_on = _prices({item.kind for item in wanted}, max(days))
    rows = []
    for item, day in zip(wanted, days, strict=True):
        price = price_on(item.kind, day)
        rows.append(Entry(
            technician_id=item.technician_id, kind=item.kind, points=price.points,
            amount=price.amount, period=month_of(item.occurred_at),
            occurred_at=item.occurred_at, recorded_at=now, source_type=item.source_type,
            source_id=str(item.source_id), order_id=item.order_id, reason=item.reason[:2000],
            rule=price.rule, appeal_until=now + dt.timedelta(days=price.appeal_days)))
    Entry.objects.bulk_create(rows, ignore_conflicts=True)
    _tell_technicians([r for r in rows if r.points < 0 or r.amount < 0])
    return len(rows)


def _tell_technicians(entries: Iterable[Entry]) -> None:
    entries = list(entries)
    if not entries:
        return
    users = dict(Technician.objects.filter(pk__in={e.technician_id for e in entries})
                 .values_list("pk", "user_id"))
    notes = []
    with translation.override(settings.LANGUAGE_CODE):
        for e in entries:
            body = _("New assessment entry: %(kind)s, %(points)s points. %(reason)s You may "
                     "appeal it until %(until)s.") % {
                "kind": e.get_kind_display(), "points": e.points, "reason": e.reason,
                "until": timezone.localtime(e.appeal_until).strftime("%Y-%m-%d %H:%M")
                if e.appeal_until else "-"}
            notes.append({"channel": Channel.IN_APP.value, "kind": "assessment_entry",
                          "recipient_id": users[e.technician_id], "body": body,
                          "order_id": e.order_id,
                          "dedupe_key": _note_key(e.kind, e.source_type, e.source_id)})
    notify_many(notes)


# --- Appeals (R53) ---------------------------------------------------------------------

def _own_technician(user: Any) -> Technician:
    technician = Technician.objects.filter(user=user).first()
    if technician is None:
        raise RuleViolation(_("Only technicians appeal their own assessment entries."),
                            field="entry", rule="R41")
    return technician


def appeal_file(*, entry_id: int, by: Any, text: str, photos: Sequence[Any] = ()) -> Appeal:
    """The technician appeals one of their own entries, within the policy's window, once
    (R53, R41). Photos are checked and re-encoded like the visit's (``workorders.images``);
    a refused appeal writes nothing and leaves no file."""
    text = (text or "").strip()
    if not text:
        raise RuleViolation(_("Say why the entry is wrong."), field="text", rule="R53")
    if len(photos) > APPEAL_MAX_PHOTOS:
        raise RuleViolation(_("At most %(n)s photos with one appeal.") % {"n": APPEAL_MAX_PHOTOS},
                            field="photos", rule="R53")
    technician = _own_technician(by)
    now = clock.now()
    prepared = [prepare_image(p, field="photos", rule="R53") for p in photos]
    with files_discarded_on_error(), transaction.atomic():
        entry = Entry.objects.select_for_update().filter(pk=entry_id).first()
        if entry is None or entry.technician_id != technician.pk:
            # R41: someone else's entry is as good as none.
            raise RuleViolation(_("This entry is not one of yours."), field="entry",
                                rule="R41")
        if Appeal.objects.filter(entry=entry).exists():
            raise RuleViolation(_("This entry has already been appealed; one appeal per "
                                  "entry."), field="entry", rule="R53")
        if Entry.objects.filter(reverses=entry).exists():
            raise RuleViolation(_("This entry has already been reversed."), field="entry",
                                rule="R53")
        if entry.kind == EntryKind.REVERSAL or not entry.is_negative:
            raise RuleViolation(_("Only deductions can be appealed."), field="entry",
                                rule="R53")
        if entry.appeal_until is None or now > entry.appeal_until:
            raise RuleViolation(
                _("The time to appeal this entry ended on %(until)s.") % {
                    "until": timezone.localtime(entry.appeal_until).strftime("%Y-%m-%d %H:%M")
                    if entry.appeal_until else "-"},
                field="entry", rule="R53")
        appeal = Appeal.objects.create(entry=entry, text=text, filed_at=now, filed_by=by)
        for image in prepared:
            photo = AppealPhoto(appeal=appeal, width=image.width, height=image.height,
                                size=len(image.content), sha256=image.sha256,
                                uploaded_at=now)
            photo.image.save(f"appeal-{appeal.pk}-{image.sha256[:12]}.jpg",
                             ContentFile(image.content), save=False)
            remember_stored(photo.image)
            photo.save()
        return appeal


def appeal_decide(*, appeal_id: int, by: Any, reverse: bool, note: str = "") -> Appeal:
    """A supervisor decides an appeal once (R53): uphold the entry, or reverse it with a
    NEW entry of the opposite points and amount in the original's month, referencing it;
    the original is never edited. The technician is told in the app."""
    if not by.has_perm("assessment.decide_appeal"):
        raise NotPermitted(_("Only a supervisor decides appeals."), field="appeal",
                           rule="R53")
    note = (note or "").strip()
    if reverse is False and not note:
        raise RuleViolation(_("Say why the entry is upheld."), field="note", rule="R53")
    now = clock.now()
    with transaction.atomic():
        appeal = (Appeal.objects.select_for_update().select_related("entry")
                  .filter(pk=appeal_id).first())
        if appeal is None:
            raise RuleViolation(_("No such appeal."), field="appeal", rule="R53")
        if appeal.status != AppealStatus.PENDING:
            raise AlreadyDecided(
                _("This appeal was already decided (%(status)s).")
                % {"status": appeal.get_status_display()}, field="appeal", rule="R53")
        original = appeal.entry
        if reverse and Entry.objects.filter(reverses=original).exists():
            raise AlreadyDecided(_("This entry has already been reversed (an exemption, R50)."),
                                 field="appeal", rule="R53")
        appeal.status = AppealStatus.REVERSED if reverse else AppealStatus.UPHELD
        appeal.decided_at, appeal.decided_by, appeal.decision_note = now, by, note
        appeal.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        if reverse:
            Entry.objects.create(
                technician_id=original.technician_id, kind=EntryKind.REVERSAL,
                points=-original.points, amount=-original.amount, period=original.period,
                occurred_at=now, recorded_at=now, source_type="entry",
                source_id=str(original.pk), order_id=original.order_id,
                reason=_("Appeal granted: %(kind)s of %(day)s reversed. %(note)s") % {
                    "kind": original.get_kind_display(),
                    "day": timezone.localtime(original.occurred_at).strftime("%Y-%m-%d"),
                    "note": note},
                reverses=original, recorded_by=by)
        _tell_decision(appeal)
        return appeal


def _tell_decision(appeal: Appeal) -> None:
    entry = appeal.entry
    user_id = Technician.objects.filter(pk=entry.technician_id).values_list("user_id",
                                                                           flat=True).first()
    with translation.override(settings.LANGUAGE_CODE):
        if appeal.status == AppealStatus.REVERSED:
            body = _("Your appeal was granted: the entry “%(kind)s” is reversed. %(note)s")
        else:
            body = _("Your appeal was not granted: the entry “%(kind)s” stands. %(note)s")
        body = body % {"kind": entry.get_kind_display(), "note": appeal.decision_note}
    notify_many([{"channel": Channel.IN_APP.value, "kind": "assessment_appeal",
                  "recipient_id": user_id, "body": body, "order_id": entry.order_id,
                  "dedupe_key": f"assessment:appeal:{appeal.pk}"}])


def entries_exempted(*, timer_ids: Iterable[int], by: Any, reason: str) -> int:
    """R50: breaches a supervisor exempted after their entries were written. Each entry of
    those timers gets its reversal (``_reverse_timer_entries``): an exemption replayed, or
    one after an appeal already reversed the entry, adds nothing. Called by the handler of
    the SLA engine's ``BreachesExempted``; returns how many reversals were written."""
    return _reverse_timer_entries(
        timer_ids, by=by,
        reason=lambda kind: _("Exempted (force majeure): %(kind)s reversed. %(reason)s")
        % {"kind": kind, "reason": reason})


def entries_withdrawn(*, timer_ids: Iterable[int], reason: str) -> int:
    """R38 → R53: breaches withdrawn because the step that kept the promise (a check-in
    done offline in time) reached the server after the sweep had recorded the breach.
    Each missed-promise entry of those timers gets its reversal (``_reverse_timer_entries``:
    an entry already reversed, by an appeal or an exemption, adds nothing, nor does a
    retried event). A breach whose entry was never written gets none later
    (``sources.from_breaches`` skips a timer whose breach no longer stands). Called by
    ``handlers.withdrawals_to_reversals``; returns how many were written."""
    return _reverse_timer_entries(
        timer_ids, by=None,
        reason=lambda kind: _("Breach withdrawn: %(kind)s reversed. %(reason)s")
        % {"kind": kind, "reason": reason})


def entries_of_kept_appointment(*, appointment_id: int, reason: str) -> int:
    """R16 corrected → R53: a booking the sweep recorded as missed by us, kept after all
    (the check-in done offline in time reached the server later): its missed-appointment
    and second-miss entries are reversed, once. Returns how many were written."""
    return _reverse_entries(
        "appointment", [appointment_id], by=None,
        reason=lambda kind: _("Miss withdrawn: %(kind)s reversed. %(reason)s")
        % {"kind": kind, "reason": reason})


def _reverse_timer_entries(timer_ids: Iterable[int], *, by: Any,
                           reason: Callable[[str], str]) -> int:
    return _reverse_entries("timer", timer_ids, by=by, reason=reason)


def _reverse_entries(source_type: str, source_ids: Iterable[int], *, by: Any,
                     reason: Callable[[str], str]) -> int:
    """One reversal (a new entry, never an edit) of each entry written for these sources
    (SLA timers, bookings) that is not reversed yet; at most one per entry (``reverses`` is
    unique, so a retry adds nothing). ``reason(kind)`` words it in the site's language.
    Dated by the server's clock, also while a step done offline is replayed."""
    now = clock.received()
    originals = (Entry.objects.filter(source_type=source_type,
                                      source_id__in=[str(t) for t in source_ids])
                 .exclude(kind=EntryKind.REVERSAL).filter(reversed_by__isnull=True)
                 .order_by("pk"))
    rows = []
    with translation.override(settings.LANGUAGE_CODE):
        for original in originals:
            rows.append(Entry(
                technician_id=original.technician_id, kind=EntryKind.REVERSAL,
                points=-original.points, amount=-original.amount, period=original.period,
                occurred_at=now, recorded_at=now, source_type="entry",
                source_id=str(original.pk), order_id=original.order_id, reverses=original,
                recorded_by=by, reason=reason(str(original.get_kind_display()))))
    Entry.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def on_time_months(period: dt.date) -> int:
    """A positive entry (``on_time_month``, where the policy gives points for it) for each
    active technician who completed at least one order in the month of ``period`` and has
    no deduction there that still stands (a reversed one does not count). Safe to run
    again: the source is (technician, month). Run for a month that is over; returns how
    many were asked for."""
    start = period.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time(), tzinfo=tz)
    until = dt.datetime.combine(end, dt.time(), tzinfo=tz)
    if price_of(EntryKind.ON_TIME_MONTH, start).points <= 0:
        return 0
    worked = set(Technician.objects.filter(
        is_active=True, orders__completed_at__gte=since, orders__completed_at__lt=until)
        .values_list("pk", flat=True))
    marked = set(Entry.objects.filter(period=start, technician_id__in=worked, points__lt=0,
                                      reversed_by__isnull=True)
                 .values_list("technician_id", flat=True))
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("No missed promise in %(month)s.") % {"month": start.strftime("%Y-%m")}
    last_moment = until - dt.timedelta(seconds=1)
    return record_entries([
        NewEntry(kind=EntryKind.ON_TIME_MONTH, technician_id=pk, source_type="month",
                 source_id=f"{pk}:{start:%Y-%m}", occurred_at=last_moment, reason=reason)
        for pk in sorted(worked - marked)])
