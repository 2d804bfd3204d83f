"""Showing a customer's full contact data, and the record of every time it was (R40).

``access.sees_full_contact`` decides who sees full phone numbers; the functions here are
what every face calls to show one (``phone_for``) or to record a page of them
(``record_reads``), so a full number is never shown without a ``PiiAccess`` row: who, when,
which order and customer, what, through which face and where. A file that carries full
customer data (an export, a downloaded report) writes one row with ``Face.EXPORT`` and
how many rows it held (``record_export``, ``name_for_export``); a page showing a name
does as for a phone (``name_for``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from fieldops import clock
from fieldops.privacy import mask_name, mask_phone

from .access import sees_full_contact
from .models import Customer, Face, PiiAccess, WorkOrder

__all__ = [
    "Face",
    "held",
    "name_for",
    "name_for_export",
    "phone_for",
    "record_customer_read",
    "record_export",
    "record_read",
    "record_reads",
    "record_reads_by_id",
    "sees_full_contact",
]


def record_reads(*, user: Any, orders: Iterable[WorkOrder], face: Face, where: str,
                 what: str = "phone") -> int:
    """Record that ``user`` was shown the full ``what`` of each order's customer (one row
    per order, one insert for the page). Orders the policy masks for this user are skipped,
    so a page may pass everything it listed. Returns the rows written."""
    now = clock.now()
    rows = [PiiAccess(user=user, order=order, customer_id=order.customer_id, at=now,
                      face=face, where=where, what=what)
            for order in {o.pk: o for o in orders}.values()
            if sees_full_contact(user, order)]
    pending = getattr(_held, "rows", None)
    if pending is not None:
        pending.extend(rows)  # the caller of held() writes them, in this transaction
    else:
        PiiAccess.objects.bulk_create(rows)
    return len(rows)


_held = threading.local()


@contextlib.contextmanager
def held() -> Iterator[list[PiiAccess]]:
    """Within the block, ``record_reads`` puts its rows in the list it yields instead of
    inserting them, for a caller that writes them together with its own last row, in the
    same transaction and before the answer leaves (``api.services``: with the idempotency
    key, one statement). A caller that does not write them must not show the answer."""
    rows: list[PiiAccess] = []
    outer = getattr(_held, "rows", None)
    _held.rows = rows
    try:
        yield rows
    finally:
        _held.rows = outer


def record_customer_read(*, user: Any, customer: Customer, face: Face, where: str,
                         what: str = "phone") -> None:
    """Record that ``user`` was shown a customer record's full ``what`` (no order)."""
    PiiAccess.objects.create(user=user, customer=customer, at=clock.now(), face=face,
                             where=where, what=what)


def record_read(*, user: Any, face: Face, where: str, what: str, order_id: int | None = None,
                customer_id: int | None = None) -> PiiAccess:
    """Record that ``user`` was shown ``what`` about an order or a customer, whatever their
    role: for records every read of which is logged (a complaint, R51, R40). Inside
    ``held()`` the row joins the caller's, like ``record_reads``."""
    row = PiiAccess(user=user, order_id=order_id, customer_id=customer_id, at=clock.now(),
                    face=face, where=where, what=what)
    pending = getattr(_held, "rows", None)
    if pending is not None:
        pending.append(row)
    else:
        row.save()
    return row


def phone_for(*, user: Any, order: WorkOrder, face: Face, where: str,
              phone: str | None = None, what: str = "phone") -> str:
    """The order's contact phone (or ``phone``, another number of its customer) as
    ``user`` may see it: in full, and recorded, or masked."""
    number = order.contact_phone if phone is None else phone
    if not number:
        return ""
    if not sees_full_contact(user, order):
        return mask_phone(number)
    record_reads(user=user, orders=[order], face=face, where=where, what=what)
    return number


def name_for(*, user: Any, order: WorkOrder, face: Face, where: str, name: str) -> str:
    """A customer's (or the signer's) ``name`` as a page shows it to ``user`` (R40): in
    full, with one access record (``what`` "name"), for whom the policy shows full data;
    masked (张*) for the rest. ``name_for_export`` is the same for a file."""
    if not name:
        return ""
    if not sees_full_contact(user, order):
        return mask_name(name)
    record_reads(user=user, orders=[order], face=face, where=where, what="name")
    return name


def record_reads_by_id(*, user: Any, order_ids: Iterable[int], face: Face, where: str,
                       what: str = "phone") -> int:
    """``record_reads`` for a page rendered from rows rather than model instances."""
    ids = list(order_ids)
    if not ids:
        return 0
    orders = WorkOrder.objects.filter(pk__in=ids).select_related("technician").only(
        "pk", "customer_id", "technician__user_id")
    return record_reads(user=user, orders=orders, face=face, where=where, what=what)


def record_export(*, user: Any, where: str, what: str, rows: int,
                  order: WorkOrder | None = None) -> PiiAccess:
    """Record that ``user`` took a file holding ``rows`` rows of customer ``what`` (R40):
    one row per export, face ``EXPORT``. The caller decided (``sees_full_contact``) that
    the file holds full data; a file of masked data records nothing."""
    return PiiAccess.objects.create(user=user, order=order,
                                    customer_id=order.customer_id if order else None,
                                    at=clock.now(), face=Face.EXPORT, where=where,
                                    what=what, rows=rows)


def name_for_export(*, user: Any, order: WorkOrder, where: str, name: str) -> str:
    """A customer's ``name`` as it may go into a file ``user`` downloads (R40): in full,
    with one export record, for whom the policy shows full data; masked for the rest."""
    if not name:
        return ""
    if not sees_full_contact(user, order):
        return mask_name(name)
    record_export(user=user, where=where, what="name", rows=1, order=order)
    return name
