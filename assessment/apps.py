from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "assessment"
    verbose_name = _("Assessment ledger")

    def ready(self) -> None:
        # Subscribe to the SLA engine's and the lifecycle's events (fieldops.bus).
        from . import handlers

        handlers.register()
