"""Where orders and technicians are: the places the dispatch ranking measures from."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock


class OrderLocation(models.Model):
    """The order's address as coordinates, from the geocoder in ``settings.GEOCODER``."""

    order = models.OneToOneField("workorders.WorkOrder", on_delete=models.CASCADE,
                                 primary_key=True, related_name="location",
                                 verbose_name=_("work order"))
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    geocoder = models.CharField(_("geocoder"), max_length=32)
    geocoded_at = models.DateTimeField(_("geocoded"), default=clock.now)

    class Meta:
        verbose_name = _("order location")
        verbose_name_plural = _("order locations")

    def __str__(self) -> str:
        return f"{self.latitude:.5f}, {self.longitude:.5f}"


class PositionSource(models.TextChoices):
    CHECK_IN = "check_in", _("Check-in")  # R17
    EN_ROUTE = "en_route", _("On the way")


class TechnicianPosition(models.Model):
    """A technician's reported position; the newest is where they were last seen."""

    technician = models.ForeignKey("technicians.Technician", on_delete=models.CASCADE,
                                   related_name="positions", verbose_name=_("technician"))
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    at = models.DateTimeField(_("at"))
    source = models.CharField(_("source"), max_length=10, choices=PositionSource.choices)

    class Meta:
        verbose_name = _("technician position")
        verbose_name_plural = _("technician positions")
        indexes = [models.Index(fields=["technician", "-at"], name="position_latest")]

    def __str__(self) -> str:
        return f"{self.latitude:.5f}, {self.longitude:.5f} @ {self.at:%Y-%m-%d %H:%M}"
