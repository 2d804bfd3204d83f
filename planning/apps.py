from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = _("Dispatch planning")

    def ready(self) -> None:
        # Orders get a place when they are taken, technicians one when they check in
        # (fieldops.bus); auto-dispatch picks by this app's ranking (R4).
        from workorders import selectors

        from . import handlers, ranking

        handlers.register()
        selectors.register_technician_picker(ranking.pick_technician)
