"""The kit a technician confirms before leaving (R20 七个一, R21 access-type tools)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from .models import AccessType

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


def required_kit(access_type: str) -> dict[str, Any]:
    """Item code -> label of everything to confirm for an order of this access type."""
    return {**BASE_KIT, **ACCESS_TOOLS.get(access_type, {})}
