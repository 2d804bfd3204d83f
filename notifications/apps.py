from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _

from .backends.templates import check_sms_gateway


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        checks.register(check_sms_gateway)
        from . import push  # noqa: F401  (registers the outbox's sender for push rows)
