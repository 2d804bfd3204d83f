from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutagesConfig(AppConfig):
    name = "outages"
    verbose_name = _("Outages")

    def ready(self) -> None:
        # Subscribe to the lifecycle's events (fieldops.bus): new repairs in an outage
        # attach, and repair reports from one access node may propose an outage (R54).
        from . import handlers

        handlers.register()
