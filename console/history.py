"""An order event's details in words for the desk's history (R42), not its stored JSON.

The event log keeps each change's payload as written (codes, ids, ISO times); the desk
shows it as "label: value" pairs: codes through their choices' labels, technicians by name,
times in ``TIME_ZONE``, yes/no for flags. Internal fields (hashes, row ids) and empty
values are left out.

The signer's name a sign-off event holds (``signer_name``) is a customer's name (R40): it
is shown through ``signer``, the page's ``workorders.pii.name_for`` (in full and recorded
for whom the policy allows, masked for the rest); a caller that passes none shows it
masked (张*).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.models import Precision
from appointments.services import PLAN_REASONS
from fieldops.privacy import mask_name
from technicians.models import Technician
from workorders.kit import _COPPER, _FIBRE, BASE_KIT, SAFETY_GEAR
from workorders.models import (
    Channel,
    ContactAttempt,
    FaultCause,
    Kind,
    Photo,
    SignOffMethod,
)

#: What each payload field is called on the desk.
LABELS: dict[str, Any] = {
    "channel": gettext_lazy("Channel"),
    "kind": gettext_lazy("Kind"),
    "preferred_day": gettext_lazy("Preferred day"),
    "technician": gettext_lazy("Technician"),
    "automatic": gettext_lazy("Chosen automatically"),
    "report": gettext_lazy("Report"),
    "outcome": gettext_lazy("Outcome"),
    "round": gettext_lazy("Round"),
    "chosen_by_customer": gettext_lazy("Chosen by the customer"),
    "start": gettext_lazy("From"),
    "end": gettext_lazy("Until"),
    "customer_asked": gettext_lazy("Customer asked"),
    "precision": gettext_lazy("Booked as"),
    "items": gettext_lazy("Kit checked"),
    "latitude": gettext_lazy("Latitude"),
    "longitude": gettext_lazy("Longitude"),
    "verified": gettext_lazy("Verified"),
    "code_verified": gettext_lazy("Code confirmed"),
    "rating": gettext_lazy("Rating"),
    "signer_name": gettext_lazy("Signed by"),
    "method": gettext_lazy("Method"),
    "callback_due_at": gettext_lazy("Callback due"),
    "sms_not_before": gettext_lazy("SMS not before"),
    "conduct": gettext_lazy("Conduct"),
    "result": gettext_lazy("Result"),
    "satisfied": gettext_lazy("Satisfied"),
    "punctuality": gettext_lazy("Punctuality"),
    "until": gettext_lazy("Until"),
    "promised_at": gettext_lazy("Promised for"),
    "clashes": gettext_lazy("Clashes"),
    "due_at": gettext_lazy("Due"),
    "work_done": gettext_lazy("Work done"),
    "outstanding_issue": gettext_lazy("Outstanding issue"),
    "download_mbps": gettext_lazy("Download (Mbit/s)"),
    "upload_mbps": gettext_lazy("Upload (Mbit/s)"),
    "materials": gettext_lazy("Materials"),
    "onu_activated": gettext_lazy("ONU activated"),
    "fault_cause": gettext_lazy("Fault cause"),
    "reason": gettext_lazy("Reason"),
    "previous_start": gettext_lazy("Planned start before"),
    "planned_start": gettext_lazy("Planned start"),
    "why": gettext_lazy("Reason"),
    "note": gettext_lazy("Note"),
}

#: Stored for the record or the seal, meaningless on the desk.
HIDDEN = frozenset({"report_hash", "survey", "photo", "sha256", "signature", "order",
                    "appointment", "seal", "strokes"})

#: Codes whose label the desk shows instead (one table per field; the union of the enums a
#: field may hold, e.g. an order's kind or a photo's kind).
VALUES: dict[str, dict[str, Any]] = {
    "channel": {**dict(Channel.choices), **dict(ContactAttempt.Channel.choices)},
    "kind": {**dict(Kind.choices), **dict(Photo.Kind.choices)},
    "outcome": dict(ContactAttempt.Outcome.choices),
    "precision": dict(Precision.choices),
    "method": dict(SignOffMethod.choices),
    "fault_cause": dict(FaultCause.choices),
    "items": {**BASE_KIT, **_COPPER, **_FIBRE, **SAFETY_GEAR},
    "why": PLAN_REASONS,
}


def _moment(value: str) -> str | None:
    moment = parse_datetime(value)
    if moment is not None:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, dt.UTC)
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
    day = parse_date(value)
    return day.isoformat() if day is not None else None


#: Payload fields holding a customer's name (R40): shown through the page's ``signer``.
NAMES = frozenset({"signer_name"})

#: How a page shows a customer's name from a payload: ``pii.name_for`` bound to its viewer.
Signer = Callable[[str], str]


def _value(key: str, value: Any, names: dict[int, str], signer: Signer | None = None) -> str:
    if key in NAMES and isinstance(value, str):
        return signer(value) if signer is not None else mask_name(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key == "technician" and isinstance(value, int):
        return names.get(value, _("a technician no longer on the books"))
    if isinstance(value, list):
        return ", ".join(_value(key, item, names, signer) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{label}: {text}" for label, text in _pairs(value, names, signer))
    if isinstance(value, str):
        known = VALUES.get(key, {}).get(value)
        if known is not None:
            return str(known)
        return _moment(value) or value
    return str(value)


def _pairs(payload: dict[str, Any], names: dict[int, str],
           signer: Signer | None = None) -> list[tuple[str, str]]:
    return [(str(LABELS.get(key, key.replace("_", " ").capitalize())),
             _value(key, value, names, signer))
            for key, value in payload.items()
            if key not in HIDDEN and value not in (None, "", [], {})]


def technician_names(payloads: list[dict[str, Any]]) -> dict[int, str]:
    """The technicians these payloads name, by id (one query)."""
    ids = {value for p in payloads if isinstance(value := p.get("technician"), int)}
    return {t.pk: t.display_name for t in Technician.objects.filter(pk__in=ids)
            .select_related("user")} if ids else {}


def details(payload: dict[str, Any] | None, names: dict[int, str] | None = None, *,
            signer: Signer | None = None) -> str:
    """``payload`` as "label: value; label: value" for the desk. ``signer``: how this page
    shows a customer's name to its viewer (R40, ``pii.name_for``); masked without one."""
    if not payload:
        return ""
    if names is None:
        names = technician_names([payload])
    return "; ".join(f"{label}: {text}" for label, text in _pairs(payload, names, signer))
