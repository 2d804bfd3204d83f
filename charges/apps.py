from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChargesConfig(AppConfig):
    name = "charges"
    verbose_name = _("Charges and receipts")

    def ready(self) -> None:
        # Join the visit's sign-off (workorders.visit_parts): the fee lines are part of what
        # the customer signs (R26, R47), and the checklist shows the charges step.
        from . import parts

        parts.register()
