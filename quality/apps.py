from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = _("Quality inspection")

    def ready(self) -> None:
        # Photos are fingerprinted as they are uploaded (fieldops.bus, R52).
        from . import handlers

        handlers.register()
