from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = _("SLA and business calendars")

    def ready(self) -> None:
        # Subscribe to the lifecycle's events (fieldops.bus; docs/architecture.md).
        from . import checks, handlers  # noqa: F401  (checks registers itself)

        handlers.register()
