"""The kit a technician confirms before leaving (R20 七个一, R21 access-type tools, and
the safety gear where the visit is work at height, R49)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from .models import AccessType, WorkOrder
from .visit_parts import works_at_height

#: 七个一 (R20): the seven things every visit carries.
BASE_KIT: dict[str, Any] = {
    "shoe_covers": _("Shoe covers"),
    "floor_mat": _("Floor mat"),
    "cloth": _("Cleaning cloth"),
    "rubbish_bag": _("Rubbish bag"),
    "documents": _("Document pack (work order, labels, user manual)"),
    "tool_set": _("Tool set"),
    "spare_parts": _("Spare parts"),
}

_COPPER = {
    "punch_down_tool": _("Punch-down tool"),
    "splitter": _("Splitter"),
    "rj_connectors": _("RJ45 / RJ11 connectors"),
    "xdsl_tester": _("xDSL tester"),
    "multimeter": _("Multimeter"),
}
_FIBRE = {
    "splicing": _("Fusion splicer or cold connectors"),
    "cleaver": _("Fibre cleaver"),
    "stripper": _("Fibre stripper"),
    "visual_fault_locator": _("Visual fault locator"),
    "optical_power_meter": _("Optical power meter"),
}

#: R21: the access type decides the extra tools.
ACCESS_TOOLS: dict[str, dict[str, Any]] = {
    AccessType.FTTH: _FIBRE,
    AccessType.FTTB: {**_FIBRE, **{k: v for k, v in _COPPER.items() if k == "rj_connectors"}},
    AccessType.LAN: {k: v for k, v in _COPPER.items() if k in ("rj_connectors", "multimeter")},
    AccessType.XDSL: _COPPER,
}


#: R49 with R20: the safety gear for work at height or on a pole (the warning sign goes up
#: where the public passes).
SAFETY_GEAR: dict[str, Any] = {
    "helmet": _("Safety helmet"),
    "harness": _("Safety harness"),
    "ladder": _("Ladder"),
    "warning_sign": _("Warning sign"),
}


def required_kit(access_type: str, *, at_height: bool = False) -> dict[str, Any]:
    """Item code -> label of everything to confirm for an order of this access type (and
    the safety gear when the visit is work at height)."""
    return {**BASE_KIT, **ACCESS_TOOLS.get(access_type, {}),
            **(SAFETY_GEAR if at_height else {})}


def order_kit(order: WorkOrder) -> dict[str, Any]:
    """The kit for this order: its access type's, with the safety gear when the visit is
    work at height (the checklist policy for its kind and access type, or the technician's
    flag from an earlier visit; ``visit_parts.works_at_height``)."""
    return required_kit(order.access_type, at_height=works_at_height(order))
