"""The hooks through which the visit's phases take part in sign-off (R26,
``workorders.visit_parts``): a registered part is sealed with the report, so changing it
after signing is caught; a registered check can hold sign-off back."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.fieldapp.helpers import on_site_with_report
from tests.fieldapp.test_sign_off import sign
from workorders import services
from workorders.errors import RuleViolation
from workorders.models import Signature, State, report_hash
from workorders.visit_parts import register_sealed_part, register_sign_off_check

READINGS: dict[int, list[dict[str, object]]] = {}


@pytest.fixture
def readings_part():
    register_sealed_part("test-readings", lambda order: READINGS.get(order.pk, []))
    yield READINGS
    register_sealed_part("test-readings", None)
    READINGS.clear()


def test_an_order_without_parts_hashes_as_before(make_order, alice, readings_part):
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    before = report_hash(order, order.report.as_dict())
    register_sealed_part("test-readings", None)
    assert report_hash(order, order.report.as_dict()) == before


def test_a_part_changed_after_signing_is_caught(make_order, alice, readings_part):
    # R26 with R48: the signature covers the readings the customer was shown
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    readings_part[order.pk] = [{"kind": "rx_dbm", "value": "-18.5"}]
    signature = sign(order)
    assert Signature.objects.get(pk=signature.pk).content_intact
    readings_part[order.pk] = [{"kind": "rx_dbm", "value": "-12.0"}]
    row = Signature.objects.get(pk=signature.pk)
    assert row.seal_valid and not row.content_intact
    order.refresh_from_db()
    with translation.override("en"), pytest.raises(RuleViolation) as err:
        services.work_order_complete(order=order, by=alice.user,
                                     report=order.report.as_dict())
    assert err.value.rule == "R26"


def test_a_registered_check_holds_sign_off_back(make_order, alice):
    def not_yet(order):
        raise RuleViolation("Let the customer try it first (R43).", field="tryout",
                            rule="R43")

    register_sign_off_check("test-tryout", not_yet)
    try:
        order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
        with pytest.raises(RuleViolation) as err:
            sign(order)
        assert err.value.rule == "R43"
        order.refresh_from_db()
        assert order.state == State.ON_SITE and not order.signatures.exists()
    finally:
        register_sign_off_check("test-tryout", None)
    sign(order)
    order.refresh_from_db()
    assert order.state == State.SIGNED_OFF
