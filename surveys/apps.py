from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys and callbacks")

    def ready(self) -> None:
        # Subscribe to the lifecycle's events (fieldops.bus; docs/architecture.md).
        from . import handlers

        handlers.register()
