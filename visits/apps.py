from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VisitsConfig(AppConfig):
    name = "visits"
    verbose_name = _("Visit checklist and test results")

    def ready(self) -> None:
        # Join sign-off through workorders.visit_parts (docs/visit.md): the sign-off check
        # (R43, R44, R48, R49) and the sealed parts "checklist" and "tests" (R26).
        from . import checks

        checks.register()
