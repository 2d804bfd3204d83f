"""Charges on the desk (R47): the price list, fee lines read only, a supervisor's refund
through the "Refund…" action (a new negative line with the reason), which a dispatcher is
not offered; the order's page lists its lines."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from charges import services
from charges.models import FeeLine, LineKind
from tests.charges.conftest import prices  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

LINES = reverse("admin:charges_feeline_changelist")


@pytest.fixture
def line(make_order, alice, prices):  # noqa: F811
    order = make_order("on_site", technician=alice)
    return services.fee_line_add(order=order, by=alice.user, code="T-ROUTER")


def test_a_supervisor_refunds_through_the_action(client, supervisor, line):
    # R47: a refund is a new negative line by a supervisor, with the reason
    client.force_login(supervisor)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "Refund…" in client.get(LINES).content.decode()
    form = client.post(LINES, {"action": "refund", "_selected_action": [line.pk]})
    assert form.status_code == 200 and "Refund charges" in form.content.decode()
    client.post(LINES, {"action": "refund", "_selected_action": [line.pk], "apply": "1",
                        "amount": "59.00", "reason": "客户投诉多收"})
    refund = FeeLine.objects.get(kind=LineKind.REFUND)
    assert (refund.amount, refund.by, refund.reason) == (Decimal("-59.00"), supervisor,
                                                         "客户投诉多收")
    page = client.get(reverse("admin:workorders_workorder_change", args=[line.order_id]))
    assert "Charges (R47)" in page.content.decode() and "-59.00" in page.content.decode()
    assert client.get(reverse("admin:charges_priceitem_changelist")).status_code == 200


def test_a_dispatcher_is_not_offered_refunds(client, dispatcher, line):
    # R47: supervisors only; the action is not there, and posting it changes nothing
    client.force_login(dispatcher)
    assert "Refund…" not in client.get(LINES).content.decode()
    client.post(LINES, {"action": "refund", "_selected_action": [line.pk], "apply": "1",
                        "reason": "x"})
    assert not FeeLine.objects.filter(kind=LineKind.REFUND).exists()
