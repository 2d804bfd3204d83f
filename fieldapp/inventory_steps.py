"""The equipment (R45) and materials (R46) steps of the technician's pages: their forms,
service calls and page context. The rules live in ``inventory.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _

from fieldops.text import FreeTextField, LineField
from inventory import selectors, services
from inventory.models import MaterialItem, Unit
from workorders.models import WorkOrder

from .forms import StepForm

#: Where the barcode reader's WebAssembly file is served (our static files, no CDN).
ZXING_WASM_DIR = "vendor/zxing-wasm/reader/"
ZXING_WASM_FILE = "zxing_reader.wasm"
SCANNER_SCRIPT = "vendor/barcode-detector/iife/polyfill.js"


def scanner_files() -> list[str]:
    """The scanner's files as the equipment page loads them (R45): its script (loaded when
    the camera opens, never with the page) and the WebAssembly file it fetches from
    ``wasm_dir`` (a directory's URL is never hashed, so neither is the file's). The
    technician pages' service worker precaches both, so a phone that never opened the
    scanner online still scans offline (issue 15/16)."""
    return [static(SCANNER_SCRIPT), static(ZXING_WASM_DIR) + ZXING_WASM_FILE]


class EquipmentForm(StepForm):
    """R45: a serial typed or scanned, and what happens to it."""

    action = forms.ChoiceField(
        label=_("What are you doing?"), widget=forms.RadioSelect, initial="install",
        choices=[("install", _("Install a device")),
                 ("swap", _("Swap a faulty device (repair)")),
                 ("take_back", _("Take a device back"))])
    serial = LineField(label=_("Serial number"), max_length=80, widget=forms.TextInput(attrs={
        "autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false",
        "data-serial": ""}))
    old_serial = LineField(label=_("Serial of the faulty device (swap only)"), max_length=80,
                           required=False, widget=forms.TextInput(attrs={
                               "autocomplete": "off", "autocapitalize": "characters",
                               "spellcheck": "false"}))
    reason = FreeTextField(label=_("Note (optional)"), max_length=255, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "swap" and not (data.get("old_serial") or "").strip():
            self.add_error("old_serial", _("Give the serial of the device you take out."))
        return data


class MaterialsForm(StepForm):
    """R46: one quantity per catalogue item normed for the order's kind (the steppers)."""

    reason = FreeTextField(label=_("Note (optional, e.g. why more than usual)"),
                           max_length=255, required=False)

    def __init__(self, *args: Any, order: WorkOrder, **kwargs: Any) -> None:
        super().__init__(*args, order=order, **kwargs)
        self.rows = selectors.normed_items(order)
        for row in self.rows:
            item: MaterialItem = row["item"]
            whole = item.unit == Unit.PIECE
            self.fields[f"item-{item.pk}"] = forms.CharField(
                label=f"{item.name} ({item.get_unit_display()})", required=False,
                max_length=12, widget=forms.TextInput(attrs={
                    "inputmode": "numeric" if whole else "decimal",
                    "data-stepper": "", "autocomplete": "off", "size": 5}))
        self.fields["reason"] = self.fields.pop("reason")  # the note after the items

    def rows_with_fields(self) -> list[dict[str, Any]]:
        return [{**row, "field": self[f"item-{row['item'].pk}"]} for row in self.rows]

    def uses(self) -> dict[MaterialItem, Any]:
        return {row["item"]: self.cleaned_data.get(f"item-{row['item'].pk}")
                for row in self.rows}


def run_equipment(order: WorkOrder, user: Any, data: dict[str, Any],
                  request: HttpRequest) -> Any:
    action = data["action"]
    if action == "swap":
        return services.device_swap(order=order, by=user, old_serial=data["old_serial"],
                                    new_serial=data["serial"], reason=data.get("reason", ""))
    if action == "take_back":
        return services.device_take_back(order=order, by=user, serial=data["serial"],
                                         reason=data.get("reason", ""))
    return services.device_install(order=order, by=user, serial=data["serial"])


def run_materials(order: WorkOrder, user: Any, data: dict[str, Any],
                  request: HttpRequest) -> Any:
    uses = {row["item"]: data.get(f"item-{row['item'].pk}")
            for row in selectors.normed_items(order)}
    return services.material_use(order=order, by=user, uses=uses,
                                 reason=data.get("reason", ""))


def context(step_name: str, order: WorkOrder) -> dict[str, Any]:
    """What the equipment and materials pages show beside their form."""
    if step_name == "equipment":
        return {"recorded": selectors.order_equipment(order),
                "installed": selectors.installed_here(order),
                "in_van": list(selectors.van_devices(order.technician_id)[:50])
                if order.technician_id else [],
                "scanner_script": static(SCANNER_SCRIPT),
                "wasm_dir": static(ZXING_WASM_DIR)}
    if step_name == "materials":
        return {"used": selectors.order_materials(order)}
    return {}
