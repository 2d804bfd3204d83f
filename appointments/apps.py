from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self) -> None:
        # Subscribe to the lifecycle's events (fieldops.bus; docs/architecture.md).
        from . import handlers

        handlers.register()
