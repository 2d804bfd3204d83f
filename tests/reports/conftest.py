"""A completed install with everything the customer signs: a device by serial (R45),
materials (R46), a network-verified optical reading and typed speed tests (R48), the
checklist (R43, R44, R49) and, when asked, fee lines (R47)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inventory import services as inventory
from tests.fieldapp.helpers import on_site_with_report
from tests.fieldapp.test_sign_off import sign
from tests.inventory.conftest import catalogue, dsl_model, onu_model, stock  # noqa: F401
from visits import services as vs
from workorders import services
from workorders.models import Signature, State, WorkOrder
from workorders.visit_parts import register_sealed_part

#: Fee lines as a later phase's part might seal them (R47): a part with no template of
#: its own, shown by the generic rows. Its own name, so the real "charges" part stays.
CHARGES = {"lines": [{"id": 7, "description": "Repair labour", "quantity": "1",
                      "amount": "80.00"},
                     {"id": 8, "description": "Socket", "quantity": "2", "amount": "40.00"}],
           "total": "120.00"}


@pytest.fixture
def charges_part() -> Iterator[dict[str, Any]]:
    register_sealed_part("extras", lambda order: CHARGES)
    yield CHARGES
    register_sealed_part("extras", None)


def visit(make_order: Any, alice: Any, catalogue: Any) -> WorkOrder:  # noqa: F811
    order = make_order(State.ON_SITE, technician=alice, account_number="KD-2001")
    inventory.device_install(order=order, by=alice.user, serial="ZTEG00000001")
    inventory.material_use(order=order, by=alice.user,
                           uses={catalogue["fibre"]: "30.5", catalogue["connector"]: 2})
    vs.work_order_read_line(order=order, by=alice.user)  # R48: the network's reading
    return on_site_with_report(order)


def complete(order: WorkOrder, captured: Any) -> tuple[WorkOrder, Signature]:
    signature = sign(order)
    order.refresh_from_db()
    with captured(execute=True):
        order = services.work_order_complete(order=order, by=order.technician.user,
                                             report=order.report.as_dict())
    return WorkOrder.objects.get(pk=order.pk), Signature.objects.get(pk=signature.pk)


@pytest.fixture
def completed(make_order: Any, alice: Any, stock: Any, catalogue: Any,  # noqa: F811
              django_capture_on_commit_callbacks: Any) -> tuple[WorkOrder, Signature]:
    return complete(visit(make_order, alice, catalogue), django_capture_on_commit_callbacks)
