"""The sealed parts of a visit (``workorders.visit_parts.sealed_parts``) as the customer
reads them: labelled rows, the same for the page and the PDF (R26, R45-R48).

Each part is shown by ``templates/report/parts/<name>.html`` with ``part`` (the sealed
value, exactly as signed) and ``shown`` (the rows below). A part without its own template
(or without its own presenter here) gets the generic rows: every field labelled, nested
values flattened, internal ids and hashes left out, never raw JSON; a ``total`` is shown,
and lines with an ``amount`` but no total get their sum. So a part added by a later phase
is readable on the copy and in the PDF before it has a template. The fee lines (R47) have
their own (``charges``: the item in the reader's language, not ``name_zh``/``name_en``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from charges.models import name_in
from inventory.models import Device, DeviceModel, MaterialItem, MovementAction, Unit
from visits.models import Measure, Source, StepKey, StepRecord
from workorders.visit_parts import sealed_parts


@dataclass
class Shown:
    """A part as rows of (label, text) pairs; ``total`` is set when the part has one."""

    rows: list[list[tuple[str, str]]] = field(default_factory=list)
    total: str = ""


@dataclass
class Part:
    name: str
    title: str
    template: str
    value: Any
    shown: Shown


TITLES = {
    "checklist": gettext_lazy("The visit, step by step"),
    "tests": gettext_lazy("Test results"),
    "equipment": gettext_lazy("Equipment (by serial number)"),
    "materials": gettext_lazy("Materials used"),
    "charges": gettext_lazy("Charges"),
}

#: The order the parts are shown in; others follow by name.
ORDER = ("checklist", "tests", "equipment", "materials", "charges")

TRIED = {"call": gettext_lazy("Made a call"), "internet": gettext_lazy("Went online"),
         "tv": gettext_lazy("Watched TV")}
EXPLAINED = {"use": gettext_lazy("How to use it"),
             "upkeep": gettext_lazy("Simple upkeep (restart, cables)"),
             "cause": gettext_lazy("The cause of the fault")}

#: Field names of any part, as the customer reads them (the generic rows).
FIELD_LABELS = {
    "item": gettext_lazy("Item"), "name": gettext_lazy("Item"),
    "description": gettext_lazy("Description"), "label": gettext_lazy("Item"),
    "quantity": gettext_lazy("Quantity"), "unit": gettext_lazy("Unit"),
    "price": gettext_lazy("Price"), "unit_price": gettext_lazy("Unit price"),
    "amount": gettext_lazy("Amount"), "total": gettext_lazy("Total"),
    "serial": gettext_lazy("Serial number"), "model": gettext_lazy("Model"),
    "status": gettext_lazy("State"), "reason": gettext_lazy("Reason"),
    "paid_at": gettext_lazy("Paid"), "method": gettext_lazy("Paid by"),
    "warranty": gettext_lazy("Warranty"), "note": gettext_lazy("Note"),
}

#: Never shown: database ids, hashes and references only the office uses.
HIDDEN_FIELDS = ("id", "pk", "sha256", "photo", "nonce", "hash", "seal", "code")


def _hidden(key: str) -> bool:
    return key in HIDDEN_FIELDS or key.endswith(("_id", "_pk", "_sha256", "_hash"))


def _label(key: str) -> str:
    known = FIELD_LABELS.get(key)
    return str(known) if known is not None else key.replace("_", " ").capitalize()


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "—"
    return str(_("Yes") if value else _("No"))


def text(value: Any) -> str:
    """Any sealed value as plain text: lists joined, dicts as "label: value"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {text(v)}" for k, v in value.items()
                         if not _hidden(k) and v not in (None, "", [], {}))
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value) or "—"
    return str(value)


def _choice(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


# --- The parts this product seals -----------------------------------------------------------

def equipment(value: list[dict[str, Any]]) -> Shown:
    """R45: each device by serial, with its model's name and what was done with it; R47:
    the warranty the customer keeps with a device left with them (its end date from the
    stock register, which is not part of what was signed)."""
    names = dict(DeviceModel.objects.filter(code__in={r.get("model") for r in value})
                 .values_list("code", "name"))
    kept = {MovementAction.INSTALL.value, MovementAction.SWAP_IN.value}
    warranty = {serial: until.isoformat() for serial, until in Device.objects.filter(
        serial__in={str(r.get("serial", "")) for r in value if str(r.get("action")) in kept}
    ).values_list("serial", "warranty_until") if until is not None}

    def row(r: dict[str, Any]) -> list[tuple[str, str]]:
        serial = str(r.get("serial", ""))
        shown = [(_("Serial number"), serial),
                 (_("Device"), names.get(str(r.get("model")), str(r.get("model", "")))),
                 (_("What was done"), _choice(MovementAction, str(r.get("action"))))]
        if str(r.get("action")) in kept and serial in warranty:
            shown.append((_("Warranty until"), warranty[serial]))
        return shown

    return Shown(rows=[row(r) for r in value])


def materials(value: list[dict[str, Any]]) -> Shown:
    """R46: each material's net quantity with its unit."""
    names = dict(MaterialItem.objects.filter(code__in={r.get("item") for r in value})
                 .values_list("code", "name"))
    return Shown(rows=[[(_("Item"), names.get(str(r.get("item")), str(r.get("item", "")))),
                        (_("Quantity"), f"{r.get('quantity')} "
                                        f"{_choice(Unit, str(r.get('unit')))}")]
                       for r in value])


def charges(value: dict[str, Any]) -> Shown:
    """R47: each fee line as signed: the item in the reader's language (with the serial
    whose warranty decided a repair's labour), its unit price, quantity and amount; the
    total. Refunds and payments are not in the sealed part (``reports.copy.Receipt``)."""
    language = translation.get_language() or ""
    rows = []
    for line in value.get("lines", []):
        item = name_in(language, str(line.get("name_zh", "")), str(line.get("name_en", "")))
        if line.get("serial"):
            item = f"{item} ({line['serial']})"
        rows.append([(_("Item"), item), (_("Unit price (¥)"), str(line.get("unit_price"))),
                     (_("Quantity"), str(line.get("quantity"))),
                     (_("Amount (¥)"), str(line.get("amount")))])
    total = value.get("total")
    return Shown(rows=rows, total=f"¥{total}" if total not in (None, "") else "")


def _step_details(step: str, data: dict[str, Any]) -> str:
    if step == StepKey.TRYOUT:
        if data.get("customer_declined"):
            parts = [str(_("The customer declined to try it"))]
        else:
            parts = [", ".join(str(TRIED.get(t, t)) for t in data.get("tried", [])),
                     str(_("it worked") if data.get("worked") else _("it did not work"))]
        explained = [str(EXPLAINED.get(e, e)) for e in data.get("explained", [])]
        if explained:
            parts.append(str(_("explained: %(what)s")) % {"what": ", ".join(explained)})
        if data.get("note"):
            parts.append(str(data["note"]))
        return "; ".join(p for p in parts if p)
    if step == StepKey.SAFETY:
        if not data.get("at_height"):
            return str(_("No work at height"))
        return str(_("Work at height with %(person)s; warning sign up")) % {
            "person": data.get("second_person") or "—"}
    if step == StepKey.CLEANUP:
        return str(_("Site cleaned up")) if data.get("cleaned") else ""
    return text({k: v for k, v in data.items() if not _hidden(k)}) if data else ""


def checklist(value: list[dict[str, Any]]) -> Shown:
    """R43, R44, R49: each step done, or declined with the reason."""
    rows = []
    order = list(StepKey.values)  # the visit's usual order, not the sealed (sorted) one
    for r in sorted(value, key=lambda r: (order.index(r["step"]) if r.get("step") in order
                                          else len(order))):
        step = str(r.get("step"))
        status = _choice(StepRecord.Status, str(r.get("status")))
        details = _step_details(step, r.get("data") or {})
        row = [(_("Step"), _choice(StepKey, step)), (_("State"), status)]
        if details:
            row.append((_("Details"), details))
        if r.get("reason"):
            row.append((_("Reason"), str(r["reason"])))
        rows.append(row)
    return Shown(rows=rows)


def tests(value: list[dict[str, Any]]) -> Shown:
    """R48: each measured result, what it was held against, and where the reading came
    from: the operator's network, or typed by the technician."""
    rows = []
    for r in value:
        measure = str(r.get("measure"))
        if r.get("value") is None:
            result = str(_("works") if r.get("passed") else _("failed"))
        else:
            unit = "dBm" if measure == Measure.RX_POWER else "Mbit/s"
            result = f"{r['value']} {unit}"
        row = [(_("Test"), _choice(Measure, measure)), (_("Result"), result)]
        if r.get("expected"):
            row.append((_("Expected"), str(r["expected"])))
        row.append((_("In range"), _yes_no(r.get("in_range"))))
        source = str(r.get("source"))
        row.append((_("Reading"), str(_("From the operator's network, not typed"))
                    if source == Source.NETWORK else str(_("Typed by the technician"))))
        if r.get("onu_state"):
            row.append((_("ONU registration"), str(r["onu_state"])))
        if r.get("reason"):
            row.append((_("Why accepted"), str(r["reason"])))
        rows.append(row)
    return Shown(rows=rows)


def generic(value: Any) -> Shown:
    """Any other part: each line's fields labelled; its total, or the sum of its amounts."""
    shown = Shown()
    lines: Iterable[Any]
    if isinstance(value, dict):
        total = value.get("total")
        if total not in (None, ""):
            shown.total = text(total)
        nested = [v for k, v in value.items() if isinstance(v, list) and not _hidden(k)]
        rest = {k: v for k, v in value.items()
                if not isinstance(v, list) and k != "total" and not _hidden(k)}
        # {"lines": [...], "paid_at": ...}: the lines, then the part's own fields
        whole = {k: v for k, v in value.items() if k != "total"}
        lines = ([*nested[0], rest] if rest else nested[0]) if len(nested) == 1 else [whole]
    elif isinstance(value, list):
        lines = value
    else:
        lines = [value]
    amounts: list[Decimal] = []
    for line in lines:
        if isinstance(line, dict):
            row = [(_label(k), text(v)) for k, v in line.items()
                   if not _hidden(k) and k != "total" and v not in (None, "")]
            if "amount" in line:
                amount = _decimal(line["amount"])
                if amount is not None:
                    amounts.append(amount)
        else:
            row = [(str(_("Details")), text(line))]
        if row:
            shown.rows.append(row)
    if not shown.total and amounts:
        shown.total = str(sum(amounts, Decimal(0)))
    return shown


PRESENTERS: dict[str, Callable[[Any], Shown]] = {
    "equipment": equipment, "materials": materials, "checklist": checklist, "tests": tests,
    "charges": charges,
}


def template_for(name: str) -> str:
    """``report/parts/<name>.html`` when it exists, else the generic one."""
    wanted = f"report/parts/{name}.html"
    try:
        get_template(wanted)
    except TemplateDoesNotExist:
        return "report/parts/_generic.html"
    return wanted


def parts_of(order: Any) -> list[Part]:
    """Every sealed part of the order with content, in the reading order."""
    found = sealed_parts(order)
    names = sorted(found, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [Part(name=name,
                 title=str(TITLES.get(name, name.replace("_", " ").capitalize())),
                 template=template_for(name), value=found[name],
                 shown=PRESENTERS.get(name, generic)(found[name]))
            for name in names]
