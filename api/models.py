"""API clients, their tokens, idempotency records and webhook endpoints.

An ``ApiClient`` is another company's system (the 10010 call-centre, a reporting tool).
It acts through its own service user, which belongs to the client's role group, so every
service call records that user as ``by`` and the event log shows the client's name (R42).
Tokens are stored hashed; the plain token is shown once, when issued.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fieldops import clock


class ClientRole(models.TextChoices):
    CALL_CENTRE = "call_centre", _("Call-centre (intake, callbacks, cancellations)")
    REPORTING = "reporting", _("Reporting (read only)")
    DISPATCHER = "dispatcher", _("Dispatching (dispatch and reassign orders, R4)")


class ApiClient(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    role = models.CharField(_("role"), max_length=16, choices=ClientRole.choices,
                            default=ClientRole.CALL_CENTRE)
    #: The service user the client acts as (in the role's group; no password).
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="api_client", verbose_name=_("acts as user"))
    is_active = models.BooleanField(_("active"), default=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=600,
        help_text=_("Above this the client is answered 429 with Retry-After."))
    contact = models.CharField(_("technical contact"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token ``fo_<prefix>_<secret>``: the prefix finds the row, the SHA-256 of
    the whole token is compared in constant time. Revoked tokens stay for the record."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens",
                               verbose_name=_("client"))
    label = models.CharField(_("label"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    digest = models.CharField(_("SHA-256"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("issued by"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"fo_{self.prefix}_…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """The first successful answer to a request made with an ``Idempotency-Key``: a retry
    with the same key and body gets it again; the same key with another body is refused.
    Written in the same transaction as the order it created, so a crash leaves neither.
    Keys belong to the acting user (an API client's service user, or a staff member)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("user"))
    key = models.CharField(_("key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    response_status = models.PositiveSmallIntegerField(_("response status"))
    response_body = models.JSONField(_("response body"))
    order = models.ForeignKey("workorders.WorkOrder", on_delete=models.CASCADE, null=True,
                              blank=True, related_name="+", verbose_name=_("work order"))
    created_at = models.DateTimeField(_("created"), default=clock.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"],
                                               name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class ClientReference(models.Model):
    """The call-centre's own reference for an order, unique per client (a second order
    with the same reference is refused, even when two requests race). Keyed on the acting
    user: each client has its own."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("user"))
    external_ref = models.CharField(_("call-centre reference"), max_length=64)
    order = models.OneToOneField("workorders.WorkOrder", on_delete=models.CASCADE,
                                 related_name="+", verbose_name=_("work order"))

    class Meta:
        verbose_name = _("client reference")
        verbose_name_plural = _("client references")
        constraints = [models.UniqueConstraint(fields=["user", "external_ref"],
                                               name="external_ref_unique_per_user")]

    def __str__(self) -> str:
        return self.external_ref


class WebhookEventType(models.TextChoices):
    ORDER_CREATED = "order.created", _("Order created")
    ORDER_STATE_CHANGED = "order.state_changed", _("Order state changed")
    ORDER_UPDATED = "order.updated", _("Order updated (same state)")
    SLA_WARNING = "sla.warning", _("SLA at risk")
    SLA_BREACHED = "sla.breached", _("SLA breached")
    SLA_WITHDRAWN = "sla.withdrawn", _("SLA warning or breach withdrawn")


class WebhookEndpoint(models.Model):
    """An HTTPS URL of a client that receives order events, signed with ``secret``."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="webhooks",
                               verbose_name=_("client"))
    url = models.URLField(_("URL"), max_length=200)
    #: HMAC-SHA256 key; kept in clear because signing needs it (shown once to the client).
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    #: Event types wanted (``WebhookEventType`` values); empty means all.
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["client", "id"]
        indexes = [models.Index(fields=["is_active"], name="webhook_active",
                                condition=models.Q(is_active=True))]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """Links one outbox notification to its endpoint; the notification row carries the
    status, attempts, backoff and last error (delivery reuses the outbox)."""

    notification = models.OneToOneField("notifications.Notification", on_delete=models.CASCADE,
                                        related_name="webhook_delivery",
                                        verbose_name=_("notification"))
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries", verbose_name=_("endpoint"))
    event_type = models.CharField(_("event type"), max_length=32,
                                  choices=WebhookEventType.choices)
    created_at = models.DateTimeField(_("created"), default=clock.now)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id}"
