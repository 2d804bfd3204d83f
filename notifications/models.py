"""The notification outbox.

A notification is written in the same transaction as the event that causes it
(an SLA breach, a booking, a completed order) and delivered afterwards by a
Celery task. Its row says whether it went out. If Redis or the SMS gateway is
down nothing is lost: the periodic flush picks up every row still pending.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock
from fieldops.privacy import mask_phone


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    IN_APP = "in_app", _("In-app")
    #: A signed POST to an API client's endpoint (api.webhooks); ``address`` is the URL.
    WEBHOOK = "webhook", _("Webhook")
    #: Web Push to every browser the recipient subscribed (notifications.push).
    PUSH = "push", _("Browser push")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")  # gave up after the last retry


class Delivery(models.TextChoices):
    """What the gateway's delivery receipt said about a sent SMS (blank: no receipt yet)."""
    UNKNOWN = "", _("No receipt")
    DELIVERED = "delivered", _("Delivered")
    UNDELIVERED = "undelivered", _("Not delivered")


class Notification(models.Model):
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    #: The staff member told, if any (in-app and email); customers have only an address.
    #: No index of its own: ``notification_inbox`` starts with it.
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  null=True, blank=True, related_name="notifications",
                                  verbose_name=_("recipient"), db_index=False)
    address = models.CharField(_("address"), max_length=254, blank=True,
                               help_text=_("Phone number or email address."))
    kind = models.CharField(_("kind"), max_length=64)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    #: The values the text was written from, by name: gateways that send only approved
    #: templates (notifications.backends.templates) fill the template with them.
    params = models.JSONField(_("template values"), null=True, blank=True)
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE, null=True,
                              blank=True, related_name="notifications",
                              verbose_name=_("work order"))
    #: One notification per cause and recipient: writing the same key twice is a no-op.
    #: (The constraint ``notification_dedupe_key``: a plain unique index, no second
    #: ``LIKE`` index that no query uses and every insert would write.)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=clock.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    #: The gateway's id of the sent message (Alibaba Cloud's BizId, Tencent Cloud's
    #: SerialNo): delivery receipts name it.
    gateway_id = models.CharField(_("gateway id"), max_length=64, blank=True, default="",
                                  db_default="")
    delivery = models.CharField(_("delivery"), max_length=12, choices=Delivery.choices,
                                blank=True, default="", db_default="")
    delivered_at = models.DateTimeField(_("receipt time"), null=True, blank=True)
    delivery_error = models.CharField(_("delivery error"), max_length=200, blank=True,
                                      default="", db_default="")

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        # Every index is written by every insert, and an SLA breach storm inserts two
        # rows per breach: each index serves a query, and the partial ones hold only the
        # rows that query can ask for (the desks' in-app rows have no recipient, and only
        # a sent SMS has a gateway id), so a breach's rows write four indexes.
        indexes = [
            models.Index(fields=["next_attempt_at"], name="notification_due",
                         condition=models.Q(status="pending")),
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox",
                         condition=models.Q(recipient__isnull=False)),
            # The admin's filter by kind; no LIKE index (no query looks for a prefix).
            models.Index(fields=["kind"], name="notification_kind"),
            # Delivery receipts name the gateway's id (notifications.receipts).
            models.Index(fields=["gateway_id"], name="notification_gateway",
                         condition=~models.Q(gateway_id="")),
        ]
        constraints = [
            # One notification per cause and recipient: writing the same key twice is a
            # no-op (notify, notify_rows).
            models.UniqueConstraint(fields=["dedupe_key"], name="notification_dedupe_key"),
        ]

    def __str__(self) -> str:
        to = self.shown_address or self.recipient
        return f"{self.get_channel_display()} {self.kind} → {to}"

    @property
    def shown_address(self) -> str:
        """The address as staff pages show it: an SMS number masked (R40; the full number
        is on the order, where reading it is recorded)."""
        return mask_phone(self.address) if self.channel == Channel.SMS else self.address



class Acknowledgement(models.Model):
    """A staff member has seen an in-app alert and taken it in hand: who and when. An alert
    addressed to a role (``role:dispatcher``) is one row for everybody in it, so each person
    acknowledges it for themselves; the row is never changed or removed."""
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE,
                                     related_name="acknowledgements",
                                     verbose_name=_("notification"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="acknowledgements", verbose_name=_("acknowledged by"))
    at = models.DateTimeField(_("acknowledged at"), default=clock.now)

    class Meta:
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        constraints = [models.UniqueConstraint(fields=["notification", "user"],
                                               name="acknowledged_once")]

    def __str__(self) -> str:
        return f"{self.notification_id} ✓ {self.user}"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (the Push API's ``PushSubscription`` as JSON):
    where its push service takes messages for it, and the keys that encrypt them for it
    (RFC 8291). Removed when the push service says it is gone (404, 410)."""
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="push_subscriptions", verbose_name=_("user"))
    endpoint = models.URLField(_("endpoint"), max_length=1000, unique=True)
    p256dh = models.CharField(_("public key"), max_length=120)
    auth = models.CharField(_("auth secret"), max_length=40)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("subscribed"), default=clock.now)
    last_sent_at = models.DateTimeField(_("last push"), null=True, blank=True)

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")

    def __str__(self) -> str:
        return f"{self.user} @ {self.endpoint[:60]}"
