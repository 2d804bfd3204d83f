"""Callback surveys and the rework loop (R29-R33) live here.

``FollowUp`` (R28, 首问负责制): a question the technician could not answer on site, or a
complaint, logged against the order and owned by whoever was first asked until it is
answered.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock


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
