from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = _("Dispatch planning")

    def ready(self) -> None:
        # Orders get a place when they are taken, technicians one when they check in
        # (fieldops.bus); auto-dispatch picks by this app's ranking (R4); the check-in
        # distance signal (R52) measures from the geocoded address.
        from quality import geo  # (imported once the app registry is ready)
        from workorders import selectors  # (as above)

        from . import handlers, ranking  # (as above)
        from . import selectors as places  # (as above)

        handlers.register()
        selectors.register_technician_picker(ranking.pick_technician)
        geo.register_locator(places.order_coordinates)
