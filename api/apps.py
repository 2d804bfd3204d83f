from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("Call-centre API")

    def ready(self) -> None:
        # Order events fan out to webhook endpoints in the event's own transaction.
        from . import receivers, schema  # noqa: F401
