"""Where orders and technicians are: the places the dispatch ranking measures from."""

from django.conf import settings
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


class DayPlanProposal(models.Model):
    """A proposed day plan for an area (``planning.dayplans``): each technician's visits in
    order with planned starts, the visits left out with the reason, travel and lateness
    before and after, and the version of each order it was computed from, so accepting a
    proposal never overwrites a change made since."""

    area = models.ForeignKey("technicians.Area", on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("area"))
    day = models.DateField(_("day"))
    created_at = models.DateTimeField(_("proposed"), default=clock.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("proposed by"))
    #: visits may move between technicians (reassigned on acceptance)
    reassign = models.BooleanField(_("may move visits between technicians"), default=False)
    solver = models.CharField(_("solver"), max_length=16)
    solve_seconds = models.FloatField(_("solve time (s)"))
    #: {"routes": {tech: [{"order", "start", "km"}]}, "unplanned": {order: reason},
    #:  "before"/"after": {tech: {"km", "late_min", "visits"}}, "versions": {order: n}}
    data = models.JSONField(_("plan"), default=dict)

    class Meta:
        verbose_name = _("day plan proposal")
        verbose_name_plural = _("day plan proposals")
        indexes = [models.Index(fields=["area", "day", "-created_at"], name="dayplan_latest")]

    def __str__(self) -> str:
        return f"{self.area} {self.day:%Y-%m-%d} @ {self.created_at:%H:%M}"


class DayPlanAcceptance(models.Model):
    """A dispatcher accepted one technician's route of a proposal: which visits were
    planned and which were refused, with the reason in words."""

    proposal = models.ForeignKey(DayPlanProposal, on_delete=models.CASCADE,
                                 related_name="acceptances", verbose_name=_("proposal"))
    technician = models.ForeignKey("technicians.Technician", on_delete=models.CASCADE,
                                   related_name="+", verbose_name=_("technician"))
    accepted_at = models.DateTimeField(_("accepted"), default=clock.now)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("accepted by"))
    applied = models.JSONField(_("visits planned"), default=list)
    refused = models.JSONField(_("visits refused"), default=dict)

    class Meta:
        verbose_name = _("day plan acceptance")
        verbose_name_plural = _("day plan acceptances")
        constraints = [models.UniqueConstraint(fields=["proposal", "technician"],
                                               name="dayplan_accept_once")]

    def __str__(self) -> str:
        return f"{self.proposal_id} {self.technician_id}"
