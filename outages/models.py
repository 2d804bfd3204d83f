"""Outages (群障, R54): many repair reports from one area or one access node are one fault.

``AccessNode`` is the reference list of the access network's shared parts (an OLT, a
splitter, a cable section) and ``AccountNode`` says which node a service account's line
hangs on (kept here, so the order and the account stay as they are). An ``Outage`` is
declared by a dispatcher for an area or a node, with an explanation and an ETA; its open
repair orders are attached (``OutageOrder``), their visit clocks pause (the SLA rules'
``attach_outage`` / ``release_outage``), each customer gets one SMS, and one more when it is
repaired with a signed link asking whether service is back. The outage's own promise (the
repair within the policy's target) is a due time on its row, swept by beat like the SLA
timers. ``OutageProposal`` is the product's suggestion when repair reports from one node
exceed the policy's count within its window; a dispatcher declares or dismisses it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock
from fieldops.text import refuse_hidden_characters


class NodeKind(models.TextChoices):
    OLT = "olt", _("OLT")
    SPLITTER = "splitter", _("Splitter")
    CABLE = "cable", _("Cable section")


class AccessNode(models.Model):
    """A shared part of the access network that many customers' lines go through."""

    # Issue 18 item 4: names and codes refuse control and invisible characters.
    code = models.CharField(_("code"), max_length=40, unique=True,
                            validators=[refuse_hidden_characters])
    name = models.CharField(_("name"), max_length=100, validators=[refuse_hidden_characters])
    kind = models.CharField(_("kind"), max_length=10, choices=NodeKind.choices)
    area = models.ForeignKey("technicians.Area", on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("area"))

    class Meta:
        verbose_name = _("access node")
        verbose_name_plural = _("access nodes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AccountNode(models.Model):
    """The access node a service account's line hangs on (one per account)."""

    account = models.OneToOneField("workorders.ServiceAccount", on_delete=models.CASCADE,
                                   related_name="access_node", verbose_name=_("service account"))
    node = models.ForeignKey(AccessNode, on_delete=models.PROTECT, related_name="lines",
                             verbose_name=_("access node"))

    class Meta:
        verbose_name = _("line on an access node")
        verbose_name_plural = _("lines on access nodes")

    def __str__(self) -> str:
        return f"{self.account_id} → {self.node_id}"


class OutagePolicy(models.Model):
    """When the product proposes an outage, and how fast one must be repaired (R54).
    The active row with the lowest id applies; seeded by ``outages/0002``."""

    name = models.CharField(_("name"), max_length=100, unique=True,
                            validators=[refuse_hidden_characters])
    is_active = models.BooleanField(_("active"), default=True)
    proposal_count = models.PositiveSmallIntegerField(
        _("repair reports that propose an outage"), default=5,
        help_text=_("This many repair reports from one access node within the window "
                    "propose an outage to the dispatchers."))
    proposal_window_minutes = models.PositiveIntegerField(_("window (minutes)"), default=60)
    repair_target_minutes = models.PositiveIntegerField(
        _("repair target (minutes)"), default=8 * 60,
        help_text=_("An outage not repaired this long after it was declared is breached."))
    warn_percent = models.PositiveSmallIntegerField(
        _("warn at (percent of the target)"), default=80)
    answer_hours = models.PositiveSmallIntegerField(
        _("hours to answer"), default=4,
        help_text=_("After the repair, a customer who has not said whether service is back "
                    "within this time is dispatched as usual."))

    class Meta:
        verbose_name = _("outage policy")
        verbose_name_plural = _("outage policies")
        ordering = ["pk"]

    def __str__(self) -> str:
        return str(self.name)


class OutageState(models.TextChoices):
    OPEN = "open", _("Open")
    REPAIRED = "repaired", _("Repaired")


class Outage(models.Model):
    """One fault that many customers report (R54), for an area or an access node."""

    area = models.ForeignKey("technicians.Area", on_delete=models.PROTECT, null=True,
                             blank=True, related_name="+", verbose_name=_("area"))
    node = models.ForeignKey(AccessNode, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="outages", verbose_name=_("access node"))
    explanation = models.TextField(_("explanation for customers"))
    eta = models.DateTimeField(_("estimated repair time"))
    state = models.CharField(_("state"), max_length=10, choices=OutageState.choices,
                             default=OutageState.OPEN)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("declared by"))
    declared_at = models.DateTimeField(_("declared"), default=clock.now)
    repaired_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("repaired by"))
    repaired_at = models.DateTimeField(_("repaired"), null=True, blank=True)
    repair_note = models.TextField(_("repair note"), blank=True)
    # The outage's own promise: repaired by ``due_at`` (the policy's target), warned at
    # ``warn_at``; ``next_check_at`` is when the sweep must look again (NULL: nothing due).
    due_at = models.DateTimeField(_("repair due"))
    warn_at = models.DateTimeField(_("warn at"))
    next_check_at = models.DateTimeField(_("next check"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)

    class Meta:
        verbose_name = _("outage")
        verbose_name_plural = _("outages")
        ordering = ["-declared_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(area__isnull=False) | models.Q(node__isnull=False),
                name="outage_has_area_or_node"),
        ]
        indexes = [
            models.Index(fields=["next_check_at"], name="outage_due",
                         condition=models.Q(state="open", next_check_at__isnull=False)),
            models.Index(fields=["area"], name="outage_open_area",
                         condition=models.Q(state="open")),
        ]
        permissions = [("repair_outage", _("Can declare outages and mark them repaired"))]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"OUT{self.pk:06d}" if self.pk else "OUT-new"

    @property
    def place(self) -> str:
        return str(self.node or self.area)


class Link(models.TextChoices):
    ATTACHED = "attached", _("Attached, clocks paused")
    ASKED = "asked", _("Repaired, customer asked")
    RESOLVED = "resolved", _("Service back: closed without a visit")
    RELEASED = "released", _("Released to dispatch")


class OutageOrder(models.Model):
    """A repair order attached to an outage, and how it left it."""

    outage = models.ForeignKey(Outage, on_delete=models.PROTECT, related_name="orders",
                               verbose_name=_("outage"))
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("work order"))
    state = models.CharField(_("state"), max_length=10, choices=Link.choices,
                             default=Link.ATTACHED)
    attached_at = models.DateTimeField(_("attached"))
    #: The signed link's nonce (``outages.links``): single use, one per attachment.
    nonce = models.CharField(_("link nonce"), max_length=16, blank=True)
    asked_at = models.DateTimeField(_("asked"), null=True, blank=True)
    service_back = models.BooleanField(_("service back"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    release_reason = models.CharField(_("why released"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("order in an outage")
        verbose_name_plural = _("orders in an outage")
        ordering = ["outage", "order"]
        constraints = [
            models.UniqueConstraint(fields=["outage", "order"], name="outage_order_once"),
            # An order waits on one outage at a time.
            models.UniqueConstraint(fields=["order"], name="outage_order_one_open",
                                    condition=models.Q(state__in=["attached", "asked"])),
        ]

    def __str__(self) -> str:
        return f"{self.outage_id} {self.order_id} {self.state}"


class ProposalState(models.TextChoices):
    OPEN = "open", _("Proposed")
    DECLARED = "declared", _("Declared")
    DISMISSED = "dismissed", _("Dismissed")


class OutageProposal(models.Model):
    """The product's suggestion: repair reports from one node exceeded the policy (R54)."""

    node = models.ForeignKey(AccessNode, on_delete=models.PROTECT, related_name="proposals",
                             verbose_name=_("access node"))
    reports = models.PositiveIntegerField(_("repair reports"))
    window_minutes = models.PositiveIntegerField(_("within (minutes)"))
    proposed_at = models.DateTimeField(_("proposed"))
    state = models.CharField(_("state"), max_length=10, choices=ProposalState.choices,
                             default=ProposalState.OPEN)
    outage = models.ForeignKey(Outage, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("outage"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("outage proposal")
        verbose_name_plural = _("outage proposals")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["node"], name="outage_proposal_one_open",
                                    condition=models.Q(state="open")),
        ]

    def __str__(self) -> str:
        return f"{self.node} ({self.reports})"
