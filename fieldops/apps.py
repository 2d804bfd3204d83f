from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from .roles import sync_roles
from .sessions import session_started


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    """After every migrate, the role groups hold exactly the permissions of
    fieldops/roles.py (each app's own roles migration can only grant what exists when it
    runs; this catches whatever an app migrated later added)."""


    sync_roles(apps)


class FieldopsConfig(AppConfig):
    name = "fieldops"
    verbose_name = _("System")

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="fieldops-sync-roles")
        user_logged_in.connect(session_started, dispatch_uid="fieldops-session-started")
        from . import checks, logins, permcache  # axes' and auth's models: once ready

        assert checks.npm_packages_fetched  # registered on import

        logins.connect()
        permcache.connect()
