"""The facts refresh and order events never wait for each other in a circle (R39): a bulk
dispatch while the dashboards' facts are refreshed ends without a deadlock. Real
PostgreSQL connections in threads; the interleaving that deadlocked is built step by step
(the test waits for the refresh to block or finish, bounded, never a fixed sleep)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from dashboards.models import OrderFact, StaleFact
from dashboards.services import order_fact_mark_stale, order_facts_refresh_stale
from tests.concurrency import backend_pid, waiting_on_a_lock
from workorders import bulk, services
from workorders.lifecycle import lock_order
from workorders.models import State, WorkOrder

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]






def test_an_order_event_and_the_refresh_of_its_marked_facts_do_not_deadlock(make_order):
    # R39: the order has a committed mark; an event locks the order, the refresh takes
    # the mark and writes the order's facts, then the event marks the order again.
    order = make_order()
    assert StaleFact.objects.filter(order=order).exists()
    locked = threading.Event()
    refresh_pid: list[int] = []
    refresh_over = threading.Event()
    errors: list[BaseException] = []

    def event() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                lock_order(WorkOrder.objects.get(pk=order.pk))
                locked.set()
                # Until the refresh is blocked on this transaction or done (bounded).
                for _ in range(400):
                    if refresh_over.is_set() or (refresh_pid and
                                                 waiting_on_a_lock(refresh_pid[0])):
                        break
                    refresh_over.wait(0.025)
                order_fact_mark_stale(order.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def refresh() -> None:
        try:
            locked.wait(10)
            refresh_pid.append(backend_pid())
            order_facts_refresh_stale()
        except BaseException as exc:
            errors.append(exc)
        finally:
            refresh_over.set()
            connections.close_all()

    threads = [threading.Thread(target=event), threading.Thread(target=refresh)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert StaleFact.objects.filter(order=order).exists()  # the event's mark is kept
    order_facts_refresh_stale()
    assert OrderFact.objects.filter(order=order).exists()


def test_a_bulk_dispatch_beside_refreshes_finishes_without_a_deadlock(make_order, alice,
                                                                    dispatcher):
    # R4, R39: many orders dispatched at once while the refresh runs again and again
    orders = [make_order() for _ in range(12)]
    order_facts_refresh_stale()
    dispatching = threading.Event()
    errors: list[BaseException] = []
    result: list[bulk.BulkResult] = []

    def dispatch() -> None:
        try:
            dispatching.set()
            result.append(bulk.for_each_order(
                [o.pk for o in orders],
                lambda order: services.work_order_dispatch(order=order, by=dispatcher,
                                                           technician=alice)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            dispatching.clear()
            connections.close_all()

    def refresh() -> None:
        try:
            for _ in range(200):
                order_facts_refresh_stale(chunk=3)
                if not dispatching.is_set() and result:
                    break
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatch), threading.Thread(target=refresh)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert result and len(result[0].done) == 12 and result[0].refused == []
    assert set(WorkOrder.objects.values_list("state", flat=True)) == {State.DISPATCHED}
    order_facts_refresh_stale()
    assert OrderFact.objects.filter(dispatched_at__isnull=False).count() == 12
