"""One definition per API shape: the fast renderer and the list's SQL are derived from the
response serializers, so they show what ``Serializer(obj).data`` shows, and a field added
to a serializer is read and rendered with no other change."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from api import readers, rendering, selectors, views
from api import serializers as s
from api.filters import limits_of, order_filters, order_limits
from fieldops import clock
from tests.conftest import make_technician
from workorders.models import Kind, State, WorkOrder


def _json(data):
    return json.dumps(data, ensure_ascii=False)


# --- The renderer, on generated objects ---------------------------------------------------

class _Inner(serializers.Serializer):
    code = serializers.CharField()
    size = serializers.IntegerField()


class _Shape(serializers.Serializer):
    """A field of each kind the response serializers use."""

    id = serializers.IntegerField()
    text = serializers.CharField()
    flag = serializers.BooleanField()
    kind = serializers.ChoiceField(choices=Kind.choices)
    day = serializers.DateField(allow_null=True)
    at = serializers.DateTimeField(allow_null=True)
    inner = _Inner(allow_null=True)
    inner_code = serializers.CharField(source="inner.code", allow_null=True)
    inner_size = serializers.IntegerField(source="inner.size", default=None)
    items = _Inner(many=True)
    tags = serializers.ListField(child=serializers.CharField())
    phone = s.ShownPhoneField()
    masked = s.ShownPhoneField(source="phone", masked=True)
    whole = _Inner(source="*")


_inner = st.builds(SimpleNamespace, code=st.text(max_size=5), size=st.integers())
# hypothesis takes naive bounds and adds the zone
_moments = st.datetimes(min_value=dt.datetime(2000, 1, 1),  # noqa: DTZ001
                        max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
                        timezones=st.just(dt.UTC))
_objects = st.builds(
    SimpleNamespace, id=st.integers(), text=st.text(max_size=8), flag=st.booleans(),
    kind=st.sampled_from(Kind.values), day=st.one_of(st.none(), st.dates()),
    at=st.one_of(st.none(), _moments), inner=st.one_of(st.none(), _inner),
    items=st.lists(_inner, max_size=3), tags=st.lists(st.text(max_size=3), max_size=3),
    phone=st.one_of(st.just(""), st.from_regex(r"\+?[0-9]{5,20}", fullmatch=True)),
    code=st.text(max_size=4), size=st.integers())


@settings(max_examples=300, deadline=None)
@given(_objects, st.booleans())
def test_the_renderer_shows_what_the_serializer_shows(obj, pii):
    user = SimpleNamespace(is_authenticated=pii, is_superuser=pii)  # R40: may see it all
    documented = _Shape(obj, context={"request": SimpleNamespace(user=user)}).data
    assert _json(rendering.render(_Shape, obj, pii=pii)) == _json(documented)


def test_a_method_field_is_refused_it_has_no_source_to_derive_from():
    class WithMethod(serializers.Serializer):
        id = serializers.IntegerField()
        extra = serializers.SerializerMethodField()

    with pytest.raises(TypeError, match="extra"):
        rendering.renderer(WithMethod, pii=False)


# --- Real orders: the detail and the list ----------------------------------------------

STATES = [State.ACCEPTED, State.SCHEDULED, State.PARKED, State.ON_SITE, State.COMPLETED,
          State.CLOSED, State.CANCELLED, State.ABNORMAL]


def test_rendered_orders_are_what_the_serializers_give(make_order, alice, east, call_centre,
                                                       reporting):
    nameless = make_technician("nameless", areas=[east])  # display name: the user name
    made: list[WorkOrder] = []
    callers = [(c.user, s.can_see_pii(c.user)) for c in (call_centre, reporting)]
    assert sorted(pii for _, pii in callers) == [False, True]

    @settings(max_examples=12, deadline=None)
    @given(st.sampled_from(STATES), st.sampled_from([alice, nameless]),
           st.sampled_from(Kind.values), st.sampled_from(["", "BB-7"]),
           st.sampled_from(["+8613900001111", "13812345678", "1234567"]),
           st.booleans(), st.integers(min_value=0, max_value=4))
    def check(state, technician, kind, account, phone, fault_known, days_later):
        order = make_order(state, technician=technician, kind=kind, account_number=account,
                           contact_phone=phone,
                           fault_started_at=(clock.now() - dt.timedelta(hours=3)
                                             if fault_known else None))
        made.append(order)
        import time_machine

        with time_machine.travel(clock.now() + dt.timedelta(days=days_later), tick=False):
            for user, pii in callers:
                shown = readers.order_detail(selectors.order_for(user, order.pk), user,
                                             views._action_links)
                request = SimpleNamespace(user=user)
                documented = s.WorkOrderDetailSerializer(shown,
                                                         context={"request": request}).data
                fast = rendering.render(s.WorkOrderDetailSerializer, shown, pii=pii)
                assert _json(fast) == _json(documented)
                page = readers.order_list_page(user, {}, descending=True, cursor=None,
                                               page_size=200)
                objects = {o.pk: o for o in selectors.orders_for(user, {})}
                rows = readers.order_list_plan().render(page.items, pii=pii)
                assert _json(rows) == _json([
                    s.WorkOrderListItemSerializer(
                        objects[row[0]], context={"request": request}).data
                    for row in page.items])

    check()
    assert {o.state for o in made} > {State.ACCEPTED}


def test_the_list_sql_reads_exactly_the_columns_the_serializer_shows():
    plan = readers.order_list_plan()
    sources = {".".join(field.source_attrs)
               for field in s.WorkOrderListItemSerializer().fields.values()}
    assert {"customer.name", "area.code", "contact_phone", "external_ref"} <= sources
    read = [expression.split(".")[-1].strip('"') for expression, _ in plan.columns]
    # the stored ones as they are; number from the id, the technician's name from the user
    assert read[0] == "id"
    assert {"name", "code", "contact_phone", "external_ref", "technician_id", "employee_no",
            "first_name", "last_name", "username"} <= set(read)
    assert "address" not in read and "notes" not in read  # not shown in the list


# --- A field added to a serializer is read and rendered with no other change ------------

class _WiderListItem(s.WorkOrderListItemSerializer):
    address = serializers.CharField()
    area_name = serializers.CharField(source="area.name")
    technician_login = serializers.CharField(source="technician.user.username",
                                             allow_null=True)
    team = serializers.CharField(source="technician.team.name", allow_null=True)


def test_a_field_added_to_the_list_serializer_is_in_the_sql_and_the_rows(
        make_order, alice, agent):
    orders = [make_order(address="1 Chang'an Ave"), make_order(State.SCHEDULED,
                                                               technician=alice)]
    plan = readers.ListPlan(_WiderListItem, WorkOrder)
    sql = plan.sql([], True, vendor="postgresql")
    assert '"address"' in sql and '"team_id"' in sql and "LEFT JOIN" in sql
    page = readers.order_list_page(agent, {}, descending=True, cursor=None, page_size=50,
                                   plan=plan)
    by_id = {o.pk: o for o in selectors.orders_for(agent, {}).select_related(
        "technician__team")}
    rendered = plan.render(page.items, pii=False)
    assert _json(rendered) == _json([_WiderListItem(by_id[row[0]]).data
                                     for row in page.items])
    shown = {row["id"]: row for row in rendered}
    assert shown[orders[0].pk]["address"] == "1 Chang'an Ave"
    assert shown[orders[0].pk]["technician_login"] is None
    assert shown[orders[1].pk]["technician_login"] == alice.user.username


def test_a_source_that_is_no_column_must_say_how_it_is_computed():
    class Unknown(s.WorkOrderListItemSerializer):
        is_terminal = serializers.BooleanField()

    with pytest.raises(ImproperlyConfigured, match="COMPUTED_FROM"):
        readers.ListPlan(Unknown, WorkOrder)


def test_a_field_added_to_the_detail_serializer_is_rendered(make_order, call_centre):
    class WiderDetail(s.WorkOrderDetailSerializer):
        area_name = serializers.CharField(source="area.name")

    order = make_order()
    user = call_centre.user
    shown = readers.order_detail(selectors.order_for(user, order.pk), user,
                                 views._action_links)
    fast = rendering.render(WiderDetail, shown, pii=True)
    assert fast["area_name"] == order.area.name
    assert list(fast)[:-1] == list(rendering.render(s.WorkOrderDetailSerializer, shown,
                                                    pii=True))


# --- The list's filters: the limits are the serializer's --------------------------------

def test_the_filter_limits_are_read_from_the_filter_serializer():
    fields = s.OrderFilterSerializer().fields
    limits = order_limits()
    assert limits.text == {name: fields[name].max_length
                           for name in ("area", "account", "external_ref", "cursor")}
    # A phone number is normalised by its field (fieldops.phones), so it is left to the
    # serializer rather than read as plain text.
    assert "customer_phone" not in limits.text
    assert limits.numbers["page_size"] == (fields["page_size"].min_value,
                                           fields["page_size"].max_value)
    assert limits.choices["kind"] == set(Kind.values)
    assert limits.multiple["state"] == set(State.values)
    assert limits.defaults == {"ordering": "-id"}


def test_a_changed_limit_on_the_filter_serializer_changes_the_fast_reader():
    class Narrower(s.OrderFilterSerializer):
        area = serializers.CharField(max_length=4, required=False)
        page_size = serializers.IntegerField(min_value=1, max_value=10, required=False)

    limits = limits_of(Narrower)
    assert limits.text["area"] == 4
    assert limits.numbers["page_size"] == (1, 10)
    # and the reader in use follows the real serializer
    from django.http import QueryDict

    longest = order_limits().text["external_ref"]
    assert order_filters(QueryDict(f"external_ref={'x' * longest}")) is not None
    assert order_filters(QueryDict(f"external_ref={'x' * (longest + 1)}")) is None
