"""Work on site and the report: photos of the installation and the speed test (R23), the
customer's consent to risky steps (R22), the report written on site (R25, R27) and filed
as the completion report after sign-off (R26, R27)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fieldops import clock

from ..errors import RuleViolation
from ..events import OrderAction
from ..images import files_discarded_on_error, prepare_image, save_photo
from ..lifecycle import User, own_step, record_event, require, transition
from ..models import (
    REPORT_FIELDS,
    CompletionReport,
    Consent,
    FaultCause,
    Kind,
    Photo,
    State,
    WorkOrder,
    report_hash,
)
from ..visit_parts import check_work_may_start


def work_order_add_photo(*, order: WorkOrder, by: User, image: Any, kind: str,
                         caption: str = "") -> Photo:
    """R23: a photo of the installation or of the speed test, uploaded while on site
    (before the customer signs, so they see it)."""
    if kind not in Photo.Kind.values:
        raise RuleViolation(_("Choose what the photo shows."), field="kind", rule="R23")
    prepared = prepare_image(image, field="image", rule="R23")
    with files_discarded_on_error(), transaction.atomic():
        locked = own_step(order, by, OrderAction.ADD_PHOTO, [State.ON_SITE])
        now = clock.now()
        photo = save_photo(locked, prepared, kind=kind, by=by, now=now, caption=caption)
        record_event(order=locked, by=by, action=OrderAction.ADD_PHOTO, from_state=locked.state,
                     to_state=locked.state, reason=caption, at=now,
                     payload={"photo": photo.pk, "kind": kind, "sha256": photo.sha256})
    return photo


def work_order_record_consent(*, order: WorkOrder, by: User, risk: str, description: str,
                              customer_name: str, agreed: bool) -> Consent:
    """R22: before a risky step (drilling, possible data loss) the customer's answer is
    recorded, yes or no, with who gave it."""
    if risk not in Consent.Risk.values:
        raise RuleViolation(_("Choose the kind of risk."), field="risk", rule="R22")
    require(description, _("Say what will be done (R22)."), field="description", rule="R22")
    require(customer_name, _("Record who gave the answer (R22)."), field="customer_name",
             rule="R22")
    with transaction.atomic():
        locked = own_step(order, by, OrderAction.RECORD_CONSENT, [State.ON_SITE])
        now = clock.now()
        consent = Consent.objects.create(order=locked, risk=risk, description=description,
                                         customer_name=customer_name, agreed=agreed,
                                         recorded_at=now, recorded_by=by)
        record_event(order=locked, by=by, action=OrderAction.RECORD_CONSENT,
                     from_state=locked.state,
                     to_state=locked.state, reason=description, at=now,
                     payload={"consent": consent.pk, "risk": risk, "agreed": agreed})
    return consent


def work_order_save_report(*, order: WorkOrder, by: User, work_done: str,
                           fault_cause: str = "", materials: str = "",
                           download_mbps: int | None = None, upload_mbps: int | None = None,
                           onu_activated: bool = False,
                           outstanding_issue: str = "") -> CompletionReport:
    """R27: write the report while on site (work done, materials, speed, outstanding
    issues; the fault cause of a repair, R25). It is a draft until the customer signs it
    (R26); after that it can't change. R49: at height, not before the second person is
    named and the warning sign is up (``visit_parts.check_work_may_start``)."""
    require(work_done, _("Describe the work done (R27)."), field="work_done", rule="R27")
    if fault_cause and fault_cause not in FaultCause.values:
        raise RuleViolation(_("Choose a fault cause from the list (R25)."),
                            field="fault_cause", rule="R25")
    if order.kind == Kind.REPAIR:
        require(fault_cause or None, _("Record the fault cause of a repair (R25)."),
                 field="fault_cause", rule="R25")
    fields = {"work_done": work_done.strip(), "fault_cause": fault_cause,
              "materials": materials.strip(), "download_mbps": download_mbps,
              "upload_mbps": upload_mbps, "onu_activated": onu_activated,
              "outstanding_issue": outstanding_issue.strip()}
    with transaction.atomic():
        locked = own_step(order, by, OrderAction.SAVE_REPORT, [State.ON_SITE])
        check_work_may_start(locked)  # R49: at height, the second person first
        now = clock.now()
        report, _created = CompletionReport.objects.update_or_create(
            order=locked, defaults={**fields, "updated_at": now, "updated_by": by})
        record_event(order=locked, by=by, action=OrderAction.SAVE_REPORT, from_state=locked.state,
                     to_state=locked.state, at=now,
                     payload={"report": dict(fields)})
    return report


def work_order_complete(*, order: WorkOrder, by: User, report: dict[str, Any]) -> WorkOrder:
    """R27: the completion report is filed (work done, cause, materials, speed, the
    visit's photos and times, any outstanding issue); the callback survey follows (R29).
    R26: when the customer signed a report, the filed one must be exactly that report."""
    report = {("download_mbps" if key == "speed_mbps" else key): value
              for key, value in report.items()}
    require(report.get("work_done"), _("Describe the work done (R27)."), field="work_done",
             rule="R27")
    if order.kind == Kind.REPAIR:
        require(report.get("fault_cause"), _("Record the fault cause of a repair (R25)."),
                 field="fault_cause", rule="R25")
    if report.get("fault_cause") and report["fault_cause"] not in FaultCause.values:
        raise RuleViolation(_("Choose a fault cause from the list (R25)."),
                            field="fault_cause", rule="R25")
    signed = order.signatures.order_by("-signed_at").first()
    if signed is not None and report_hash(order, report) != signed.report_hash:
        raise RuleViolation(_("The report differs from the one the customer signed (R26); "
                              "file the signed report."), field="work_done", rule="R26")

    def file(locked: WorkOrder, now: dt.datetime) -> None:
        fields = {name: report.get(name) for name in REPORT_FIELDS if name in report}
        fields["onu_activated"] = bool(fields.get("onu_activated"))
        for name in ("materials", "outstanding_issue", "fault_cause"):
            fields[name] = fields.get(name) or ""
        CompletionReport.objects.update_or_create(
            order=locked, defaults={**fields, "filed_at": now, "filed_by": by,
                                    "updated_at": now, "updated_by": by})

    # The callback survey (R29) is started after commit by the surveys' handler of this event.
    return transition(order, OrderAction.COMPLETE, by=by, payload={"report": report},
                      after=file, at=None)

