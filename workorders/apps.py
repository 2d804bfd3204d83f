from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkordersConfig(AppConfig):
    name = "workorders"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        # Subscribe to the outbox's and the lifecycle's events (fieldops.bus).
        from . import alerts

        alerts.register()
