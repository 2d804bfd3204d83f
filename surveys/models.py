"""Callback surveys and the rework loop (R29-R33), and follow-ups (R28).

``FollowUp`` (R28, 首问负责制): a question the technician could not answer on site, or a
complaint, logged against the order and owned by whoever was first asked until it is
answered.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock
from workorders.models import ContactAttempt


class FollowUpKind(models.TextChoices):
    QUESTION = "question", _("Question")
    COMPLAINT = "complaint", _("Complaint")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")


class FollowUp(models.Model):
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="follow_ups", verbose_name=_("work order"))
    kind = models.CharField(_("kind"), max_length=10, choices=FollowUpKind.choices)
    text = models.TextField(_("question or complaint"))
    #: R28: whoever was first asked is responsible until it is answered.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="owned_follow_ups", verbose_name=_("owner"))
    due_at = models.DateTimeField(_("answer due"))
    status = models.CharField(_("status"), max_length=10, choices=FollowUpStatus.choices,
                              default=FollowUpStatus.OPEN)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("answered by"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("logged by"))
    created_at = models.DateTimeField(_("logged"), default=clock.now)

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["due_at"], name="followup_open_due",
                                condition=models.Q(status="open"))]

    def __str__(self) -> str:
        return f"{self.order_id} {self.get_kind_display()} ({self.get_status_display()})"


# --- Callback surveys and the rework loop (R29-R33) ------------------------------------

class SurveyStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ANSWERED = "answered", _("Answered")
    #: The order moved on without this survey's answer (closed or cancelled otherwise).
    SUPERSEDED = "superseded", _("Superseded")


class AnswerChannel(models.TextChoices):
    SMS = "sms", _("Customer's SMS link")
    CALLBACK = "callback", _("Manual callback")
    API = "api", _("Call-centre API")


def _rating_ok(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(**{f"{name}__isnull": True}) | models.Q(**{f"{name}__gte": 1,
                                                                      f"{name}__lte": 5}),
        name=f"survey_{name}_1_to_5")


class Survey(models.Model):
    """One survey round of an order (R29; R32 after each rework): sent once by SMS with a
    signed, single-use, expiring link; answered by the customer or by a manual callback
    (R30). ``round`` is the order's rework round when it was sent (0: after completion)."""

    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="surveys", verbose_name=_("work order"))
    round = models.PositiveSmallIntegerField(_("round"), default=0)
    technician = models.ForeignKey("technicians.Technician", on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("technician surveyed"))
    status = models.CharField(_("status"), max_length=10, choices=SurveyStatus.choices,
                              default=SurveyStatus.PENDING)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    #: R29: the SMS waits for the end of the quiet hours.
    sms_not_before = models.DateTimeField(_("SMS not before"))
    #: R30: no answer by then and the call-centre calls the customer.
    callback_due_at = models.DateTimeField(_("callback due"))
    #: The link's secret part: the signed token names the row and this nonce.
    nonce = models.CharField(_("nonce"), max_length=32, unique=True)
    expires_at = models.DateTimeField(_("link expires"))
    opened_at = models.DateTimeField(_("link first opened"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    #: Null: the customer answered through the link.
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+",
                                    verbose_name=_("recorded by"))
    channel = models.CharField(_("answered through"), max_length=10, blank=True,
                               choices=AnswerChannel.choices)
    satisfied = models.BooleanField(_("satisfied"), null=True, blank=True)
    punctuality = models.PositiveSmallIntegerField(_("punctuality (1-5)"), null=True,
                                                   blank=True)
    conduct = models.PositiveSmallIntegerField(_("conduct (1-5)"), null=True, blank=True)
    result = models.PositiveSmallIntegerField(_("result (1-5)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-id"]
        constraints = [
            _rating_ok("punctuality"), _rating_ok("conduct"), _rating_ok("result"),
            models.UniqueConstraint(fields=["order"], condition=models.Q(status="pending"),
                                    name="one_pending_survey_per_order"),
            models.CheckConstraint(
                condition=~models.Q(status="answered") | models.Q(satisfied__isnull=False,
                                                                  answered_at__isnull=False),
                name="answered_survey_has_answer"),
        ]
        indexes = [models.Index(fields=["callback_due_at"], name="survey_callback_due",
                                condition=models.Q(status="pending"))]

    def __str__(self) -> str:
        return f"{self.order_id} #{self.round} ({self.get_status_display()})"


class CallbackStatus(models.TextChoices):
    OPEN = "open", _("To call")
    DONE = "done", _("Done")
    #: The customer answered the link first, or the order moved on.
    CANCELLED = "cancelled", _("No longer needed")


class Callback(models.Model):
    """R30: the automatic survey got no answer in time; the call-centre calls the customer
    and records the answer (through the same service as the customer's own)."""

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="callback",
                                  verbose_name=_("survey"))
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="callbacks", verbose_name=_("work order"))
    created_at = models.DateTimeField(_("created"), default=clock.now)
    status = models.CharField(_("status"), max_length=10, choices=CallbackStatus.choices,
                              default=CallbackStatus.OPEN)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                null=True, blank=True, related_name="+",
                                verbose_name=_("done by"))
    note = models.TextField(_("note"), blank=True)
    #: Calls that did not reach the customer; the callback stays open for another try.
    attempts = models.PositiveSmallIntegerField(_("calls not answered"), default=0)
    last_attempt_at = models.DateTimeField(_("last call not answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_at"], name="callback_open",
                                condition=models.Q(status="open"))]

    def __str__(self) -> str:
        return f"{self.order_id} callback ({self.get_status_display()})"


class ReworkOutcome(models.TextChoices):
    OPEN = "open", _("Being worked on")
    RESOLVED = "resolved", _("Resolved, survey sent")
    SATISFIED = "satisfied", _("Customer satisfied")
    UNSATISFIED = "unsatisfied", _("Still not satisfied")
    CANCELLED = "cancelled", _("Cancelled")


class ReworkRound(models.Model):
    """One numbered round of the rework loop (R31-R33), kept for good: who had it, when the
    customer was contacted, how it was resolved and what the customer said after."""

    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE,
                              related_name="rework_rounds", verbose_name=_("work order"))
    number = models.PositiveSmallIntegerField(_("round"))
    opened_at = models.DateTimeField(_("opened"))
    #: The "not satisfied" answer that opened the round.
    survey = models.OneToOneField(Survey, on_delete=models.PROTECT, related_name="rework",
                                  verbose_name=_("triggering survey"))
    #: Whoever holds the round now (R31: the same technician; R33: another one).
    technician = models.ForeignKey("technicians.Technician", on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("technician"))
    previous_technician = models.ForeignKey("technicians.Technician", on_delete=models.PROTECT,
                                            null=True, blank=True, related_name="+",
                                            verbose_name=_("previous technician"))
    reassigned_at = models.DateTimeField(_("reassigned"), null=True, blank=True)
    supervisor_notified_at = models.DateTimeField(_("supervisor told"), null=True, blank=True)
    resolution_note = models.TextField(_("resolution note"), blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=ReworkOutcome.choices,
                               default=ReworkOutcome.OPEN)

    class Meta:
        verbose_name = _("rework round")
        verbose_name_plural = _("rework rounds")
        ordering = ["order", "number"]
        constraints = [models.UniqueConstraint(fields=["order", "number"],
                                               name="one_rework_round_number_per_order")]

    def __str__(self) -> str:
        return f"{self.order_id} rework #{self.number}"

    @property
    def contacted_at(self) -> dt.datetime | None:
        """R31: the first contact logged with the customer in this round (the SLA timer
        ``rework_contact`` stops on the same event)."""

        attempts = ContactAttempt.objects.filter(order_id=self.order_id, at__gt=self.opened_at)
        if self.resolved_at is not None:
            attempts = attempts.filter(at__lte=self.resolved_at)
        return attempts.order_by("at").values_list("at", flat=True).first()
