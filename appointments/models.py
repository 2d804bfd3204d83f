"""Appointments: the times we promised the customer.

A booking never overwrites another: moving one marks it ``moved`` and books a
new row, so the history of promises (and broken ones, R15/R16) is kept.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock


class Precision(models.TextChoices):
    DAY = "day", _("Day")  # first booking at intake (R3)
    HALF_DAY = "half_day", _("Half day")  # rural single booking (R11)
    EXACT = "exact", _("Exact time")  # second booking by the technician (R9)


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    MOVED = "moved", _("Moved")
    KEPT = "kept", _("Kept")
    MISSED_BY_CUSTOMER = "missed_customer", _("Missed by the customer")
    MISSED_BY_US = "missed_us", _("Missed by us")
    CANCELLED = "cancelled", _("Cancelled")


class Appointment(models.Model):
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="appointments", verbose_name=_("work order"))
    start = models.DateTimeField(_("window start"))
    end = models.DateTimeField(_("window end"))
    precision = models.CharField(_("precision"), max_length=8, choices=Precision.choices)
    status = models.CharField(_("status"), max_length=16, choices=AppointmentStatus.choices,
                              default=AppointmentStatus.BOOKED)
    #: R10: the time the customer chose wins; recorded so we can show it.
    chosen_by_customer = models.BooleanField(_("customer's choice"), default=True)
    booked_at = models.DateTimeField(_("booked"), default=clock.now)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="+",
                                  verbose_name=_("booked by"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    #: When the booking stopped being the current one, by whom and why (moved, kept,
    #: missed, cancelled); the row itself is never overwritten with another time.
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                  null=True, blank=True, related_name="+",
                                  verbose_name=_("closed by"))
    close_reason = models.CharField(_("why closed"), max_length=255, blank=True, default="")
    #: R15: who asked for the move; only a move we asked for can break the promise.
    moved_by_customer = models.BooleanField(_("moved at the customer's request"), null=True,
                                            blank=True)
    #: R15: moved by us with less notice than required (a broken promise, R16).
    short_notice = models.BooleanField(_("moved at short notice"), default=False)
    #: The customer confirmed the booking from the SMS link.
    confirmed_at = models.DateTimeField(_("confirmed by the customer"), null=True, blank=True)
    #: R14: check-in time, and whether it was more than the tolerance off the promise.
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    arrival_offset_minutes = models.IntegerField(_("minutes off the booked time"), null=True,
                                                 blank=True)
    late = models.BooleanField(_("late"), null=True, blank=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["booked_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")),
                                   name="appointment_window_positive"),
            models.UniqueConstraint(fields=["order"],
                                    condition=models.Q(status="booked"),
                                    name="one_booked_appointment_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M}"


class ChangeRequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    REBOOKED = "rebooked", _("Rebooked")
    DECLINED = "declined", _("Declined")


class ChangeRequest(models.Model):
    """The customer asks for another time (R10: the customer's choice wins). It goes to the
    order's technician, who re-books the visit; nothing is moved automatically."""

    class Source(models.TextChoices):
        CALL_CENTRE = "call_centre", _("Call-centre")
        CUSTOMER_LINK = "customer_link", _("Customer's SMS link")
        TECHNICIAN = "technician", _("Technician")

    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="change_requests", verbose_name=_("work order"))
    appointment = models.ForeignKey(Appointment, on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="change_requests",
                                    verbose_name=_("appointment"))
    preferred_start = models.DateTimeField(_("preferred start"))
    preferred_end = models.DateTimeField(_("preferred end"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested"), default=clock.now)
    status = models.CharField(_("status"), max_length=10, choices=ChangeRequestStatus.choices,
                              default=ChangeRequestStatus.OPEN)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("appointment change request")
        verbose_name_plural = _("appointment change requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(preferred_end__gt=models.F("preferred_start")),
                                   name="change_request_window_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.preferred_start:%Y-%m-%d %H:%M}"


class CustomerLink(models.Model):
    """One signed link sent by SMS to the customer for one booking. The URL carries a
    ``django.core.signing`` token naming this row; the row makes it single-use and lets a
    booking that moved refuse its old links."""

    class Use(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed the booking")
        CHANGE_REQUESTED = "change", _("Asked for another time")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE,
                                    related_name="links", verbose_name=_("appointment"))
    nonce = models.CharField(_("nonce"), max_length=32, unique=True)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    used_for = models.CharField(_("used for"), max_length=10, choices=Use.choices, blank=True)

    class Meta:
        verbose_name = _("customer link")
        verbose_name_plural = _("customer links")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.appointment_id} {self.created_at:%Y-%m-%d %H:%M}"


class VisitPlan(models.Model):
    """The dispatcher's planned start of a visit inside the customer's booked window (the
    day board). The booking, the customer's promise, is not changed: a plan only says
    when within it the technician is meant to start. Each change is a new row (who, when,
    from which start to which), so the planning history is kept; the current plan of an
    order is the newest row for its current booking."""

    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="visit_plans", verbose_name=_("work order"))
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE,
                                    related_name="plans", verbose_name=_("appointment"))
    technician = models.ForeignKey("technicians.Technician", on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("technician"))
    planned_start = models.DateTimeField(_("planned start"))
    previous_start = models.DateTimeField(_("previous planned start"), null=True, blank=True)
    set_at = models.DateTimeField(_("planned"), default=clock.now)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                               null=True, blank=True, related_name="+",
                               verbose_name=_("planned by"))

    class Meta:
        verbose_name = _("visit plan")
        verbose_name_plural = _("visit plans")
        ordering = ["set_at", "id"]
        indexes = [models.Index(fields=["appointment", "-set_at"], name="visitplan_current")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.planned_start:%Y-%m-%d %H:%M}"
