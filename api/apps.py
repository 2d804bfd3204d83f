from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("Call-centre API")

    def ready(self) -> None:
        # Order events and SLA steps fan out to webhook endpoints in the event's own
        # transaction (fieldops.bus; docs/architecture.md). Imported here, not at the top:
        # the app registry must be ready before models are imported.
        from . import handlers, schema  # noqa: F401

        handlers.register()
