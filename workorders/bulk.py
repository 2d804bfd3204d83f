"""Work on many orders at once (the desk's bulk dispatch and reassign, R4).

Orders are processed in id order, each in its own transaction: the global lock order
(several orders by id, each order before its rows), so two bulk runs, or a bulk run and
the dashboards' refresh, never wait for each other in a circle. A transaction PostgreSQL
still picks as a deadlock's victim runs again once (``fieldops.retry``); a refusal of
one order (a domain rule, a concurrent change, a second deadlock) is collected with its
reason and the others go on. Nothing here raises for one order's sake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from fieldops.retry import TransactionDeadlocked, retry_on_deadlock

from .errors import DomainError
from .models import WorkOrder


@dataclass
class BulkResult:
    #: Ids of the orders ``fn`` succeeded on, in id order.
    done: list[int] = field(default_factory=list)
    #: (order id, order number, reason) of each order refused, in id order.
    refused: list[tuple[int, str, str]] = field(default_factory=list)

    def why(self) -> str:
        """The refusals as one line for a message: "number: reason; ..."."""
        return "; ".join(f"{number}: {reason}" for _pk, number, reason in self.refused)


def for_each_order(ids: Iterable[int], fn: Callable[[WorkOrder], Any]) -> BulkResult:
    """Call ``fn(order)`` for each order of ``ids`` in id order, each call in its own
    transaction on a fresh read of the order (retried once on a deadlock), and collect
    what was done and what was refused and why. Must not run inside a transaction (each
    order commits on its own)."""
    result = BulkResult()
    for pk in sorted(set(ids)):
        number = WorkOrder.number_for(pk)

        def attempt(pk: int = pk) -> Any:
            return fn(WorkOrder.objects.select_related("technician", "area").get(pk=pk))

        try:
            retry_on_deadlock(attempt)
        except WorkOrder.DoesNotExist:
            result.refused.append((pk, number, _("The order no longer exists.")))
        except (DomainError, TransactionDeadlocked) as exc:
            result.refused.append((pk, number, exc.message))
        else:
            result.done.append(pk)
    return result
