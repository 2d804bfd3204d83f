"""Who may do what with an order, and who may see a customer's full data: one answer each.

Admin pages, technician pages, customer-facing services and the API ask these functions;
none of them writes its own check. Pure functions of the user (and the order's technician):
no queries beyond Django's cached permission lookup, so the state machine can use them as
transition permissions.
"""

from __future__ import annotations

from typing import Any

#: Permission names (``app_label.codename``), declared in ``WorkOrder.Meta.permissions``.
PERM_DISPATCH = "workorders.dispatch_workorder"
PERM_INTAKE = "workorders.intake_workorder"
PERM_CANCEL = "workorders.cancel_workorder"
PERM_FIELDWORK = "workorders.perform_fieldwork"
PERM_VIEW_ALL = "workorders.view_all_workorders"
#: R52 (R51): send a completed or closed order back for rework (R31).
PERM_REOPEN_REWORK = "workorders.reopen_rework"
#: R40: may see customers' full phone numbers.
PERM_VIEW_PII = "workorders.view_customer_pii"


def is_technician_user(user: Any) -> bool:
    """The user is signed in and has a technician record (the phone pages' audience)."""
    return bool(getattr(user, "is_authenticated", False)) and hasattr(user, "technician")


def is_order_technician(order: Any, user: Any) -> bool:
    """R41: the order's own technician, signed in with field-work rights (or a superuser).
    The one answer to "is this user the order's technician", for the state machine's field
    steps, the pages, the survey loop's follow-ups and the API."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    technician = order.technician
    return bool(technician is not None and technician.user_id == user.pk
                and user.has_perm(PERM_FIELDWORK))


def can_see_pii(user: Any) -> bool:
    """R40: full phone numbers and names only for roles whose work needs them; everyone else
    sees them masked. (Each read of full data by staff is recorded where it is shown.)"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or user.has_perm(PERM_VIEW_PII))


def sees_full_contact(user: Any, order: Any = None) -> bool:
    """R40, the one policy: who is shown a customer's full phone numbers. Office roles whose
    work is calling customers (``can_see_pii``) everywhere; a technician only on their own
    orders (R7: they call the customer; R41). Everyone else sees them masked. Whoever is
    shown them has the read recorded (``workorders.pii``)."""
    if can_see_pii(user):
        return True
    return order is not None and is_technician_user(user) and is_order_technician(order, user)


def order_visibility(user: Any) -> tuple[str, int | None]:
    """R41 as data: ``("all", None)`` for office roles, ``("own", technician id)`` for a
    technician (only orders assigned to them), ``("none", None)`` for anyone else."""
    if not getattr(user, "is_authenticated", False):
        return "none", None
    if user.is_superuser or user.has_perm(PERM_VIEW_ALL):
        return "all", None
    if is_technician_user(user):
        return "own", user.technician.pk
    return "none", None
