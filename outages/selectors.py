"""Reads about outages (R54): which outage an order waits on, what the call-centre tells
the customer, the policy in force."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from fieldops import refdata
from workorders.models import Kind, WorkOrder

from .models import (
    AccessNode,
    AccountNode,
    Link,
    Outage,
    OutageOrder,
    OutagePolicy,
    OutageState,
)

#: An attachment still holding the order (its clocks paused).
HOLDING = (Link.ATTACHED, Link.ASKED)


def policy() -> OutagePolicy:
    """The policy in force: the active row with the lowest id, else the defaults."""
    return OutagePolicy.objects.filter(is_active=True).order_by("pk").first() or OutagePolicy(
        name="default")


#: The open outages and whether the access network is registered at all, per process
#: under the reference stamp (``fieldops.refdata``; ``outages/0002`` adds the triggers):
#: an intake while nothing is open reads nothing more.
_reference = refdata.Cache()


def open_outages() -> list[tuple[int, int | None, int | None]]:
    """(id, area id, node id) of every open outage."""
    return _reference.get("open", lambda: list(
        Outage.objects.filter(state=OutageState.OPEN).order_by("declared_at", "pk")
        .values_list("pk", "area_id", "node_id")))


def nodes_registered() -> bool:
    return _reference.get("nodes", AccessNode.objects.exists)


def line_node(order: WorkOrder) -> int | None:
    """The access node the order's account's line hangs on (one query, none without an
    account or while no node is registered)."""
    if not order.account_id or not nodes_registered():
        return None
    return (AccountNode.objects.filter(account_id=order.account_id)
            .values_list("node_id", flat=True).first())


def covering(order: WorkOrder) -> Outage | None:
    """The open outage a repair order belongs to: one declared for its access node (its
    account's line), or for its area without a node; the oldest first."""
    found = open_outages()
    if not found:
        return None
    node_id = line_node(order) if any(node for _pk, _area, node in found) else None
    for pk, area_id, outage_node in found:
        if (outage_node is not None and outage_node == node_id) or (
                outage_node is None and area_id == order.area_id):
            return Outage.objects.select_related("area", "node").filter(pk=pk).first()
    return None


def eta_text(outage: Outage) -> str:
    """The ETA as a customer or an agent reads it: the time alone when it is today."""
    eta = timezone.localtime(outage.eta)
    if eta.date() == timezone.localdate():
        return eta.strftime("%H:%M")
    return eta.strftime("%m-%d %H:%M")


class OrderOutage:
    """What the API answer says about the outage an order waits on."""

    def __init__(self, outage: Outage, *, attached: bool) -> None:
        self.outage = outage
        self.number = outage.number
        self.state = outage.state
        self.place = outage.place
        self.explanation = outage.explanation
        self.eta = outage.eta
        self.attached = attached
        self.message = (_("Known outage %(number)s at %(place)s, ETA %(eta)s: %(explanation)s")
                        % {"number": outage.number, "place": outage.place,
                           "eta": eta_text(outage), "explanation": outage.explanation})


def order_outage(order: WorkOrder) -> OrderOutage | None:
    """The outage ``order`` waits on, for the call-centre (R54). At intake the lifecycle
    handler leaves its match on the order (``outage_match``), so the answer reads nothing
    more; later the order's attachment is read (one query, repairs only)."""
    if "outage_match" in order.__dict__:
        match = order.__dict__.pop("outage_match")
        return OrderOutage(match, attached=False) if match is not None else None
    if order.kind != Kind.REPAIR:
        return None
    link = (OutageOrder.objects.filter(order_id=order.pk, state__in=HOLDING)
            .select_related("outage__area", "outage__node").first())
    return OrderOutage(link.outage, attached=True) if link is not None else None


def outage_orders(outage: Outage) -> Any:
    return (OutageOrder.objects.filter(outage=outage)
            .select_related("order").order_by("order_id"))


def counts(outage: Outage) -> dict[str, int]:
    """How the outage's orders left it: still held, closed without a visit, dispatched."""
    found = {state: 0 for state in Link.values}
    for state in OutageOrder.objects.filter(outage=outage).values_list("state", flat=True):
        found[state] += 1
    return found
