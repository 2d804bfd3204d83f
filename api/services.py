"""Writes of the API app: clients and tokens, idempotent order intake, webhooks.

Order changes themselves are ``workorders.services``; this module only wraps intake with
the client's guarantees (one order per Idempotency-Key, one per call-centre reference)
and fans order events out to webhook endpoints through the notification outbox.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from fieldops import clock, roles
from fieldops.bulk import insert_together, writes_gathered
from notifications.models import Channel
from notifications.services import notify
from workorders import pii
from workorders.errors import DomainError, RuleViolation
from workorders.events import OrderAction
from workorders.models import WorkOrder, WorkOrderEvent

from . import conf
from .authentication import TOKEN_PREFIX, digest
from .models import (
    ApiClient,
    ApiToken,
    ClientReference,
    ClientRole,
    IdempotencyKey,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from .selectors import active_webhook_endpoints
from .webhooks import check_url, new_secret

ROLE_GROUPS = {ClientRole.CALL_CENTRE: roles.CALL_CENTRE, ClientRole.REPORTING: roles.REPORTING,
               ClientRole.DISPATCHER: roles.DISPATCHER}


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"


class DuplicateReference(DomainError):
    status = 409
    code = "duplicate_reference"


# --- Clients and tokens ---------------------------------------------------------

def api_client_create(*, name: str, role: str = ClientRole.CALL_CENTRE,
                      rate_limit_per_minute: int = 600, contact: str = "") -> ApiClient:
    """A client and the service user it acts as, in the role's group. The user's name is
    the client's, so the event log shows which system acted (R42)."""
    name = name.strip()
    if not name:
        raise RuleViolation(_("Give the client a name."), field="name")
    if role not in ROLE_GROUPS:
        raise RuleViolation(_("Unknown role."), field="role")
    user_model = get_user_model()
    with transaction.atomic():
        base = f"api-{slugify(name)[:40] or 'client'}"
        username, n = base, 1
        while user_model.objects.filter(username=username).exists():
            n += 1
            username = f"{base}-{n}"
        user = user_model.objects.create_user(username=username, first_name=name[:150])
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=ROLE_GROUPS[ClientRole(role)]))
        return ApiClient.objects.create(name=name, role=role, user=user, contact=contact,
                                        rate_limit_per_minute=rate_limit_per_minute)


def api_client_set_role(*, client: ApiClient, role: str) -> ApiClient:
    """Move the client's user to the group of ``role`` (kept in step with the admin)."""
    with transaction.atomic():
        client.user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS.values()))
        client.user.groups.add(Group.objects.get(name=ROLE_GROUPS[ClientRole(role)]))
        client.role = role
        client.save(update_fields=["role"])
    return client


def api_token_issue(*, client: ApiClient, by: Any = None, label: str = "") -> tuple[ApiToken, str]:
    """A new token for ``client``. Returns the row and the plain token, which is shown
    once and never stored (only its SHA-256)."""
    prefix = secrets.token_hex(6)
    plain = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(client=client, label=label, prefix=prefix,
                                    digest=digest(plain), created_by=by)
    return token, plain


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke at once; the row stays (who issued it, when it was last used)."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=clock.now())
    token.refresh_from_db()
    return token


# --- Idempotent intake ------------------------------------------------------------

def fingerprint(method: str, path: str, body: Any) -> str:
    """Same method, path and JSON value (key order and spacing aside) → same fingerprint."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class IdempotentResult:
    status: int
    body: dict[str, Any]
    order_id: int | None
    replayed: bool


def idempotent_replay(*, user: Any, key: str, request_fingerprint: str
                      ) -> IdempotentResult | None:
    """The stored answer for ``key`` (None if the key is new); 422 if the key was used
    for a different request."""
    previous = _previous(user, key)
    return _replay(previous, request_fingerprint) if previous is not None else None


def _previous(user: Any, key: str) -> IdempotencyKey | None:
    row = IdempotencyKey.objects.filter(user=user, key=key).first()
    if row is None:
        return None
    ttl = dt.timedelta(seconds=conf.get("IDEMPOTENCY_TTL_SECONDS"))
    if row.created_at < clock.now() - ttl:
        # Forgotten: the key may be used again (delete only the row we saw).
        IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).delete()
        return None
    return row


def _replay(row: IdempotencyKey, print_: str) -> IdempotentResult:
    if row.fingerprint != print_:
        raise IdempotencyKeyReused(
            _("Idempotency-Key “%(key)s” was already used with a different request body. "
              "Use a new key for a new request.") % {"key": row.key},
            original_order=row.order_id)
    return IdempotentResult(row.response_status, row.response_body, row.order_id, True)


def _check_reference(user: Any, external_ref: str) -> None:
    if not external_ref:
        return
    existing = ClientReference.objects.filter(user=user, external_ref=external_ref).first()
    if existing is not None:
        raise DuplicateReference(
            _("Your reference “%(ref)s” is already order %(id)s; look it up instead of "
              "creating another.") % {"ref": external_ref, "id": existing.order_id},
            existing_order=existing.order_id)


def work_order_create_idempotent(
    *, user: Any, key: str, request_fingerprint: str, external_ref: str,
    create: Callable[[], WorkOrder], respond: Callable[[WorkOrder], dict[str, Any]],
    status: int = 201,
) -> IdempotentResult:
    """R1 intake from an API client, at most once per ``key``.

    The order, the reference row and the key row (with the answer) are written in one
    transaction, the key row last. The key is not looked up first: a new key (the common
    case) costs one insert. A key used before fails on the key's unique index and is
    answered from its row; a second request with the same key racing this one waits on
    that index until this one commits, then fails the same way and rolls back everything
    it wrote, so there is one order. A request that fails (a rule is broken) leaves
    nothing, so a corrected retry is a new request.
    """
    def act() -> tuple[dict[str, Any], int]:
        order = create()
        if external_ref:
            ClientReference.objects.create(user=user, external_ref=external_ref, order=order)
        return respond(order), order.pk

    return _at_most_once(user=user, key=key, request_fingerprint=request_fingerprint,
                         status=status, act=act,
                         # the reference was used before: say which order has it
                         on_conflict=lambda: _check_reference(user, external_ref),
                         # the writes nobody reads back (the facts' mark, the place) go
                         # with the key row's statement
                         gather=True)


def order_action_idempotent(*, user: Any, key: str, request_fingerprint: str,
                            order_id: int | None, act: Callable[[], dict[str, Any]],
                            status: int = 200) -> IdempotentResult:
    """An order action (dispatch, reassign, cancel ...) at most once per ``key``: the
    action, its R40 read records and the key row with the answer are one transaction.
    A retry of a request that was answered (the client timed out, the network dropped
    the answer) gets the first answer again instead of a 409 for an order that has moved
    on; a request racing it with the same key waits on the key's unique index and is
    answered the same way. A request a rule refused leaves nothing, so a corrected retry
    is a new request."""
    return _at_most_once(user=user, key=key, request_fingerprint=request_fingerprint,
                         status=status, act=lambda: (act(), order_id))


def write_idempotent(*, user: Any, key: str, request_fingerprint: str, status: int,
                     act: Callable[[], tuple[dict[str, Any], int | None]]) -> IdempotentResult:
    """Any other write of the API than an order's at most once per ``key`` (a complaint
    recorded or handled, R51; an inspection decided, R52; a force-majeure event declared or
    decided, R50): the write, the read records of its answer (R40) and the key row are one
    transaction. ``act`` returns the answer and the order it concerns (None for none or
    many)."""
    return _at_most_once(user=user, key=key, request_fingerprint=request_fingerprint,
                         status=status, act=act)


def _at_most_once(*, user: Any, key: str, request_fingerprint: str, status: int,
                  act: Callable[[], tuple[dict[str, Any], int | None]],
                  on_conflict: Callable[[], None] = lambda: None,
                  gather: bool = False) -> IdempotentResult:
    """``act`` (the write and its answer), its R40 read records and the key row with the
    answer in one transaction, the key row last. The key is not looked up first: a new key
    (the common case) costs one insert. A key used before fails on the key's unique index
    and is answered from its row; a request racing with the same key waits on that index
    until the first commits, then fails the same way and rolls back everything it wrote.
    A request a rule refuses leaves nothing, unless it is the retry of one answered
    before (the first answer stands)."""
    for attempt in (1, 2):
        try:
            with transaction.atomic(), (writes_gathered() if gather else nullcontext()):
                with pii.held() as reads:
                    body, order_id = act()
                # The answer's R40 read records and the key row with the answer: one
                # statement, both or neither.
                insert_together(reads, IdempotencyKey(
                    user=user, key=key, fingerprint=request_fingerprint,
                    response_status=status, response_body=body, order_id=order_id))
        except DomainError:
            previous = _previous(user, key)
            if previous is not None:
                return _replay(previous, request_fingerprint)
            raise
        except IntegrityError:
            # The key was used before (or by a request racing this one), or another
            # unique value of the write (``on_conflict`` says which).
            previous = _previous(user, key)
            if previous is not None:
                return _replay(previous, request_fingerprint)
            on_conflict()
            if attempt == 2:
                raise
            continue  # the key's row had outlived its time to live and is gone now
        return IdempotentResult(status, body, order_id, False)
    raise AssertionError("unreachable")


# --- Webhooks -----------------------------------------------------------------------

def webhook_endpoint_create(*, client: ApiClient, url: str, event_types: list[str] | None = None,
                            description: str = "") -> WebhookEndpoint:
    """Register an HTTPS endpoint; its signing secret is generated here."""
    problem = check_url(url)
    if problem:
        raise RuleViolation(problem, field="url")
    wanted = sorted(set(event_types or []))
    unknown = [t for t in wanted if t not in WebhookEventType.values]
    if unknown:
        raise RuleViolation(_("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)},
                            field="event_types")
    return WebhookEndpoint.objects.create(
        client=client, url=url, event_types=wanted, description=description,
        secret=new_secret())


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    endpoint.is_active = False
    return endpoint


def event_type_of(event: WorkOrderEvent) -> str:
    action = event.action
    if action == OrderAction.CREATE:
        return WebhookEventType.ORDER_CREATED
    if action.startswith("sla"):
        if "breach" in action:
            return WebhookEventType.SLA_BREACHED
        return WebhookEventType.SLA_WARNING
    if event.from_state != event.to_state:
        return WebhookEventType.ORDER_STATE_CHANGED
    return WebhookEventType.ORDER_UPDATED


def webhook_publish(*, order: WorkOrder, event_type: str, data: dict[str, Any],
                    source_key: str) -> int:
    """Queue ``event_type`` for every active endpoint that wants it, in the caller's
    transaction (outbox). ``source_key`` names the cause, so publishing it twice sends
    nothing new. Returns how many deliveries were queued."""
    endpoints = [e for e in active_webhook_endpoints() if e.wants(event_type)]
    queued = 0
    for endpoint in endpoints:
        body = json.dumps({"id": source_key, "type": event_type,
                           "created_at": clock.now().isoformat(), "data": data},
                          ensure_ascii=False, separators=(",", ":"))
        note = notify(channel=Channel.WEBHOOK, kind=f"webhook:{event_type}", body=body,
                      address=endpoint.url, order=order,
                      dedupe_key=f"webhook:{endpoint.pk}:{source_key}")
        if note is not None:
            WebhookDelivery.objects.create(notification=note, endpoint=endpoint,
                                           event_type=event_type)
            queued += 1
    return queued


def _webhook_order(order: WorkOrder) -> dict[str, Any]:
    """The order as every webhook payload names it (docs/api.md, "Webhooks")."""
    return {"id": order.pk, "number": order.number, "external_ref": order.external_ref,
            "state": order.state, "version": order.version}


def webhook_publish_order_event(*, event: WorkOrderEvent) -> int:
    """Fan one order event (R42 log row) out to the endpoints that want its type."""
    order = event.order
    data = {
        "order": _webhook_order(order),
        "event": {"id": event.pk, "action": event.action, "from_state": event.from_state,
                  "to_state": event.to_state, "at": event.at.isoformat(),
                  # A step done offline: when it reached the server (``at``: when done).
                  "received_at": (event.received_at.isoformat()
                                  if event.received_at is not None else None),
                  "actor": event.actor_label, "reason": event.reason},
    }
    return webhook_publish(order=order, event_type=event_type_of(event), data=data,
                           source_key=f"event-{event.pk}")


def _webhook_timer(timer: Any, at: dt.datetime) -> dict[str, Any]:
    """A timer as the SLA webhooks show it; ``at`` is when its warning or breach came."""
    return {"id": timer.pk, "kind": timer.kind, "cycle": timer.cycle,
            "due_at": timer.due_at.isoformat() if timer.due_at else None,
            "at": at.isoformat()}


def webhook_publish_timer_event(*, timer: Any, kind: str, at: dt.datetime) -> int:
    """SLA warnings and breaches (R38) for webhook endpoints. For the SLA engine to call in
    the transaction that records a ``warned`` or ``breached`` timer event; other kinds are
    ignored. Publishing the same step twice queues nothing new."""
    event_type = {"warned": WebhookEventType.SLA_WARNING,
                  "breached": WebhookEventType.SLA_BREACHED}.get(kind)
    if event_type is None:
        return 0
    order = timer.order
    data = {"order": _webhook_order(order), "timer": _webhook_timer(timer, at)}
    return webhook_publish(order=order, event_type=event_type, data=data,
                           source_key=f"timer-{timer.pk}-{kind}")


def webhook_publish_timer_withdrawal(*, timer: Any, kind: str, reached_at: dt.datetime,
                                     at: dt.datetime, received_at: dt.datetime,
                                     action: str) -> int:
    """R38: a warning or breach the endpoints were told of is withdrawn, because the step
    that kept the promise (done offline, ``at``) reached the server late (``received_at``).
    Only warned and breached steps (what ``sla.warning`` and ``sla.breached`` told);
    publishing the same withdrawal twice queues nothing new."""
    if kind not in ("warned", "breached"):
        return 0
    order = timer.order
    data = {
        "order": _webhook_order(order),
        "timer": _webhook_timer(timer, reached_at),
        "withdrawn": {"step": "warning" if kind == "warned" else "breach",
                      "action": action, "at": at.isoformat(),
                      "received_at": received_at.isoformat()},
    }
    return webhook_publish(order=order, event_type=WebhookEventType.SLA_WITHDRAWN, data=data,
                           source_key=f"timer-{timer.pk}-{kind}-"
                                      f"{int(reached_at.timestamp())}-withdrawn")


def idempotency_keys_purge(*, limit: int = 10_000) -> int:
    """Forget keys older than IDEMPOTENCY_TTL_SECONDS (the orders stay). Bounded per call;
    safe to run twice. Returns how many were deleted."""
    cutoff = clock.now() - dt.timedelta(seconds=conf.get("IDEMPOTENCY_TTL_SECONDS"))
    ids = list(IdempotencyKey.objects.filter(created_at__lt=cutoff)
               .order_by("created_at").values_list("pk", flat=True)[:limit])
    deleted, _by_model = IdempotencyKey.objects.filter(pk__in=ids).delete()
    return deleted
