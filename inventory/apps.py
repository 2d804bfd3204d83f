from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Equipment and materials")

    def ready(self) -> None:
        # Join the visit's sign-off (workorders.visit_parts): sealed parts and checklist
        # steps for equipment (R45) and materials (R46).
        from . import parts

        parts.register()
