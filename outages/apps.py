from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from fieldops import refdata


class OutagesConfig(AppConfig):
    name = "outages"
    verbose_name = _("Outages")

    def ready(self) -> None:
        # Subscribe to the lifecycle's events (fieldops.bus): new repairs in an outage
        # attach, and repair reports from one access node may propose an outage (R54).
        from . import handlers
        from .models import AccessNode, Outage

        handlers.register()
        # An outage declared or repaired in this request is seen by the rest of it.
        refdata.watch(Outage, AccessNode)
