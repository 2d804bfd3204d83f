from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = _("Supervisors' dashboards")

    def ready(self) -> None:
        # Subscribe to the lifecycle's events (fieldops.bus; docs/architecture.md).
        from . import handlers

        handlers.register()
