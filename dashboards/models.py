"""The supervisors' figures (R39), kept as one row of facts per work order.

``OrderFact`` is recomputed from the order's own history (its event log, its SLA timers
and its appointments) a few seconds after each order event: the event marks its order
(``StaleFact``,
 written by the ``dashboards.handlers`` subscriber of every order event) and a beat task refreshes
the marked orders in batches (``dashboards.services.order_facts_refresh_stale``). The
compliance page then reads only this table, by the day the order was received (the
cohort) and the filters of the page, through the indexes below; nothing is computed from
the event log at read time. ``manage.py dashboard_facts`` rebuilds it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    """A promise's outcome on the order: kept, broken, or not known yet."""

    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")


DURATION_COLUMNS = ["dispatch_to_contact_s", "dispatch_to_site_s", "site_to_complete_s"]


class OrderFact(models.Model):
    order = models.OneToOneField("workorders.WorkOrder", on_delete=models.CASCADE,
                                 primary_key=True, related_name="fact",
                                 verbose_name=_("work order"))
    #: The local day the order was received: every figure is about the orders received in
    #: the period (a cohort), so an order belongs to exactly one period.
    day = models.DateField(_("received on"))
    created_at = models.DateTimeField(_("received"))
    area = models.ForeignKey("technicians.Area", on_delete=models.CASCADE, related_name="+",
                             db_index=False, verbose_name=_("area"))
    team = models.ForeignKey("technicians.Team", on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="+", db_index=False,
                             verbose_name=_("team"))
    #: The technician holding the order last (after a rework reassignment, the new one).
    technician = models.ForeignKey("technicians.Technician", on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+", db_index=False,
                                   verbose_name=_("technician"))
    kind = models.CharField(_("kind"), max_length=8)
    customer_class = models.CharField(_("customer class"), max_length=16)
    account = models.ForeignKey("workorders.ServiceAccount", on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="+", db_index=False,
                                verbose_name=_("service account"))
    state = models.CharField(_("state"), max_length=20)

    dispatched_at = models.DateTimeField(_("first dispatched"), null=True, blank=True)
    contacted_at = models.DateTimeField(_("customer reached"), null=True, blank=True)
    on_site_at = models.DateTimeField(_("first on site"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    #: Durations in seconds with the paused time (R6, R12) left out.
    dispatch_to_contact_s = models.IntegerField(_("dispatch → contact (s)"), null=True,
                                                blank=True)
    dispatch_to_site_s = models.IntegerField(_("dispatch → on site (s)"), null=True,
                                             blank=True)
    site_to_complete_s = models.IntegerField(_("on site → completed (s)"), null=True,
                                             blank=True)
    paused_customer_s = models.IntegerField(_("paused for the customer (s)"), default=0)
    paused_resources_s = models.IntegerField(_("paused for resources (s)"), default=0)

    contact_outcome = models.CharField(_("contact within the window (R7)"), max_length=8,
                                       choices=Outcome.choices, blank=True)
    visit_outcome = models.CharField(_("on site within 24 h (R34)"), max_length=8,
                                     choices=Outcome.choices, blank=True)
    breaches = models.PositiveSmallIntegerField(_("timers breached"), default=0)
    #: Breaches a supervisor exempted for force majeure (R50): recorded (R38), but not in
    #: ``breaches`` nor in the contact and visit outcomes.
    exempt_breaches = models.PositiveSmallIntegerField(_("exempt breaches (R50)"), default=0,
                                                       db_default=0)
    visits = models.PositiveSmallIntegerField(_("visits"), default=0)
    arrivals = models.PositiveSmallIntegerField(_("arrivals at a booking"), default=0)
    late_arrivals = models.PositiveSmallIntegerField(_("late arrivals (R14)"), default=0)
    missed_by_us = models.PositiveSmallIntegerField(_("appointments missed by us (R16)"),
                                                    default=0)
    survey_answers = models.PositiveSmallIntegerField(_("survey answers"), default=0)
    satisfied_answers = models.PositiveSmallIntegerField(_("satisfied answers"), default=0)
    rework_rounds = models.PositiveSmallIntegerField(_("rework rounds"), default=0)
    remote = models.BooleanField(_("resolved remotely (R2)"), default=False)
    abnormal = models.BooleanField(_("abnormal (R19)"), default=False)
    #: The first visit of a later order on the same account after this one was completed
    #: (first-time fix: no repeat visit within N days).
    next_visit_at = models.DateTimeField(_("next visit to the account"), null=True,
                                         blank=True)
    #: Completed in one visit, no rework, and no repeat visit to the account within
    #: ``DASHBOARD_FIRST_FIX_DAYS`` days (so far).
    first_fix = models.BooleanField(_("fixed the first time"), default=False)
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("order facts")
        verbose_name_plural = _("order facts")
        # The durations ride along in the period indexes, so the medians of a filtered
        # page are read from the index alone (no visit to the table's pages).
        indexes = [
            models.Index(fields=["day"], name="fact_day",
                         include=["kind", "customer_class", *DURATION_COLUMNS]),
            models.Index(fields=["area", "day"], name="fact_area_day",
                         include=["kind", "customer_class", *DURATION_COLUMNS]),
            models.Index(fields=["team", "day"], name="fact_team_day",
                         include=DURATION_COLUMNS),
            models.Index(fields=["technician", "day"], name="fact_technician_day",
                         include=DURATION_COLUMNS),
            models.Index(fields=["account", "on_site_at"], name="fact_account_visit"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.day}"


#: The counters of ``DailyRollup``, each the sum over the orders of its row.
COUNTERS = (
    "orders", "contact_met", "contact_breached", "visit_met", "visit_breached", "arrivals",
    "late_arrivals", "missed", "completed", "first_fix", "remote", "survey_answers",
    "satisfied_answers", "surveyed", "reworked", "rework_rounds", "abnormal", "breaches",
    "exempt_breaches",
)


class RollupCounters(models.Model):
    """The counters both rollups keep (``COUNTERS``), each the sum over their orders."""

    orders = models.IntegerField(default=0)
    contact_met = models.IntegerField(default=0)
    contact_breached = models.IntegerField(default=0)
    visit_met = models.IntegerField(default=0)
    visit_breached = models.IntegerField(default=0)
    arrivals = models.IntegerField(default=0)
    late_arrivals = models.IntegerField(default=0)
    missed = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    first_fix = models.IntegerField(default=0)
    remote = models.IntegerField(default=0)
    survey_answers = models.IntegerField(default=0)
    satisfied_answers = models.IntegerField(default=0)
    surveyed = models.IntegerField(default=0)
    reworked = models.IntegerField(default=0)
    rework_rounds = models.IntegerField(default=0)
    abnormal = models.IntegerField(default=0)
    breaches = models.IntegerField(default=0)
    exempt_breaches = models.IntegerField(default=0, db_default=0)

    class Meta:
        abstract = True


class DailyRollup(RollupCounters):
    """The facts of the orders received on one day, summed per area, team, technician,
    kind and customer class: what the compliance page adds up, so its cost follows the
    number of these rows in the period, not the number of orders. Kept in step with
    ``OrderFact`` by the same hook (each change of a fact moves its counters from its old
    row to its new one); ``dashboard_facts`` rebuilds it. 0 stands for "no team" and
    "no technician" (so that every row has a unique key)."""

    day = models.DateField(_("received on"))
    area_id = models.IntegerField(_("area"))
    team_id = models.IntegerField(_("team"))
    technician_id = models.IntegerField(_("technician"))
    kind = models.CharField(_("kind"), max_length=8)
    customer_class = models.CharField(_("customer class"), max_length=16)

    class Meta:
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        constraints = [models.UniqueConstraint(
            fields=["day", "area_id", "team_id", "technician_id", "kind", "customer_class"],
            name="rollup_one_row_per_key")]
        indexes = [
            models.Index(fields=["area_id", "day"], name="rollup_area_day"),
            models.Index(fields=["team_id", "day"], name="rollup_team_day"),
            models.Index(fields=["technician_id", "day"], name="rollup_technician_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.area_id}/{self.team_id}/{self.technician_id}"


#: The measured durations: (code, column of ``OrderFact``).
MEASURES = (("contact", "dispatch_to_contact_s"), ("site", "dispatch_to_site_s"),
            ("work", "site_to_complete_s"))


class AreaDailyRollup(RollupCounters):
    """The same counters as ``DailyRollup`` per (day, area, kind, customer class) only:
    what the page adds up when no team or technician is chosen (a few hundred rows a day
    however many technicians there are)."""

    day = models.DateField(_("received on"))
    area_id = models.IntegerField(_("area"))
    kind = models.CharField(_("kind"), max_length=8)
    customer_class = models.CharField(_("customer class"), max_length=16)

    class Meta:
        verbose_name = _("daily figures by area")
        verbose_name_plural = _("daily figures by area")
        constraints = [models.UniqueConstraint(
            fields=["day", "area_id", "kind", "customer_class"],
            name="area_rollup_one_row_per_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.area_id}"


def duration_bucket(seconds: int) -> int:
    """The histogram's step for a duration, in minutes: whole minutes up to 2 hours,
    5 minutes up to a day, 30 minutes beyond (``BUCKET_SQL`` is the same in SQL)."""
    minutes = seconds // 60
    if minutes < 120:
        return minutes
    if minutes < 1440:
        return minutes - minutes % 5
    return minutes - minutes % 30


#: ``duration_bucket`` in SQL, of the column named {column}.
BUCKET_SQL = ("(CASE WHEN {column} / 60 < 120 THEN {column} / 60 "
              "WHEN {column} / 60 < 1440 THEN ({column} / 300) * 5 "
              "ELSE ({column} / 1800) * 30 END)")


class DurationHistogram(models.Model):
    """How many orders received on a day took each duration (in the steps of
    ``duration_bucket``) for each measure: the medians and p90s of the unfiltered page
    come from here (a few hundred rows a day whatever the volume); filtered pages read the
    facts, in the same steps. Kept by the same hook as the rollup."""

    day = models.DateField(_("received on"))
    measure = models.CharField(_("measure"), max_length=8)
    minutes = models.IntegerField(_("minutes"))
    orders = models.IntegerField(_("orders"), default=0)

    class Meta:
        verbose_name = _("duration histogram")
        verbose_name_plural = _("duration histograms")
        constraints = [models.UniqueConstraint(fields=["day", "measure", "minutes"],
                                               name="histogram_one_row_per_minute")]

    def __str__(self) -> str:
        return f"{self.day} {self.measure} {self.minutes} min: {self.orders}"


class StaleFact(models.Model):
    """An order whose facts are behind its history: every order event marks its order here
    (``services.order_fact_mark_stale``, in the event's transaction) and the beat task
    ``dashboards.tasks.refresh_stale_facts`` recomputes the facts of the marked orders in
    batches, then removes their marks. The compliance figures therefore trail the orders by
    at most ``DASHBOARD_REFRESH_SECONDS`` (plus the batch's own time), and an order event
    pays one small insert for them instead of recomputing the order's figures."""

    order = models.OneToOneField("workorders.WorkOrder", on_delete=models.CASCADE,
                                 primary_key=True, related_name="+",
                                 verbose_name=_("work order"))
    #: When the order was first marked since its facts were last refreshed.
    marked_at = models.DateTimeField(_("marked"))

    class Meta:
        verbose_name = _("order with stale facts")
        verbose_name_plural = _("orders with stale facts")

    def __str__(self) -> str:
        return str(self.order_id)
