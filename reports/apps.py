from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Signed reports")

    def ready(self) -> None:
        # The customer's copy is texted once the order is completed (fieldops.bus).
        from . import handlers

        handlers.register()
