"""POST /work-orders/ reads plainly valid bodies without the serializer (api.intake), and
the serializer still answers everything else: the two agree on generated bodies (R1, R3)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api import serializers as s
from api.intake import order_intake
from workorders.models import WorkOrder

#: A valid value of every field ("customer.x" is inside the customer; the area is ``east``).
VALID: dict[str, Any] = {
    "channel": "hotline", "kind": "install", "service": "broadband", "access_type": "ftth",
    "address": "北京市东城区东四十条 88 号 3 单元 502", "area": "BJ-DC-01",
    "customer.name": "张伟", "customer.phone": "13812345678",
    "customer.alt_phone": "01065001234", "customer.customer_class": "vip",
    "account_number": "ACC-001", "symptoms": "光猫红灯", "external_ref": "CC-7",
    "notes": "下午在家", "preferred_day": "2026-11-20", "fault_started_at": None,
}
REQUIRED = ["channel", "kind", "service", "access_type", "address", "area", "customer.name",
            "customer.phone"]
PHONES = ["+8613812345678", "12345", "1234", "1" * 20, "1" * 21, "+" + "1" * 20, "",
          "138-1234-5678", "call me", "١٣٨١٢٣٤٥٦٧٨", "++13812345678", "+", "13912345",
          "(010) 6500 1234", "+852 6123 4567", "0085261234567"]
#: Near misses of each field besides the ones every field gets (see ``_pool``).
NEAR: dict[str, list[Any]] = {
    "channel": ["website", "app", "store", "HOTLINE", "fax", "install"],
    "kind": ["move", "repair", "Install", "hotline"],
    "service": ["fixed_line", "iptv", "IPTV", "ftth"],
    "access_type": ["fttb", "lan", "xdsl", "FTTH", "vip"],
    "area": ["bj-dc-01", "NOPE", "BJ-MTG-07"],
    "customer.phone": PHONES, "customer.alt_phone": PHONES,
    "customer.customer_class": ["standard", "VIP", "gold"],
    "preferred_day": ["2000-01-01", "2100-12-31", "1999-12-31", "2101-01-01", "2026-02-30",
                      "2026-1-5", "20261120", "2026-W47-5", "٢٠٢٦-١١-٢٠", "2024-02-29",
                      "2026-11-20T08:00:00+08:00"],
    "fault_started_at": ["2026-11-20T08:00:00+08:00", "2026-11-20", ""],
    "customer": [[], "张伟", {}, {"name": "张伟"}, {"phone": "13812345678"}],
    "colour": ["red"], "customer.email": ["x@example.com"],
}
#: Other valid values, for the generated bodies.
ALSO_VALID: dict[str, list[Any]] = {
    "channel": ["website", "app", "store"], "kind": ["move", "repair"],
    "service": ["fixed_line", "iptv"], "access_type": ["fttb", "lan", "xdsl"],
    "customer.customer_class": ["standard"], "customer.alt_phone": ["", "+85261234567"],
    "preferred_day": ["2000-01-01", "2100-12-31", "2024-02-29"],
}
DROP = object()  # leave the field out


def _declared(path: str) -> Any:
    fields = s.WorkOrderCreateSerializer._declared_fields
    if path.startswith("customer."):
        fields = s.CustomerInSerializer._declared_fields
    return fields.get(path.removeprefix("customer."))


def _pool(path: str) -> list[Any]:
    """The values tried in a field: other JSON types, null, empty, padded, NUL, a lone
    surrogate, at and past the serializer's length, and the field's near misses."""
    text = VALID.get(path) or "2026-11-20T08:00:00+08:00"
    longest = getattr(_declared(path), "max_length", None) or 40
    return [DROP, None, 7, 1.5, True, [], {"name": "x"}, "", " ", f" {text}", f"{text} ",
            f"{text}\n", f"\u3000{text}", f"{text[:1]}\x00{text[1:]}", f"{text}\ud800",
            "x" * longest, "x" * (longest + 1), *NEAR.get(path, [])]


PATHS = [*VALID, "customer", "colour", "customer.email"]


def _body(valid: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"customer": {}}
    for path, value in valid.items():
        if path.startswith("customer."):
            body["customer"][path.removeprefix("customer.")] = value
        else:
            body[path] = value
    return body


def _mutated(body: dict[str, Any], changes: list[tuple[str, Any]]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for path, value in changes:
        holder, name = body, path
        if path.startswith("customer."):
            holder, name = body.get("customer"), path.removeprefix("customer.")
            if not isinstance(holder, dict):
                continue
        if value is DROP:
            holder.pop(name, None)
        else:
            holder[name] = value
    return body


def _validated(body: Any) -> dict[str, Any] | None:
    form = s.WorkOrderCreateSerializer(data=copy.deepcopy(body))
    if not form.is_valid():
        return None
    validated = dict(form.validated_data)
    validated["customer"] = dict(validated["customer"])
    return validated


def _types(validated: dict[str, Any]) -> dict[str, Any]:
    return {name: (_types(value) if isinstance(value, dict) else type(value))
            for name, value in validated.items()}


def _check(body: Any, *, plainly_valid: bool) -> None:
    fast = order_intake(copy.deepcopy(body))
    if plainly_valid:
        assert fast is not None, body  # the common case takes the fast path
    if fast is None:
        return  # the serializer decides: nothing to compare
    validated = _validated(body)
    assert validated is not None, body  # the reader accepted what the serializer refuses
    assert fast == validated, body
    assert _types(fast) == _types(validated), body


def test_the_reader_agrees_with_the_serializer_on_each_edge_alone(east):
    minimal = {path: VALID[path] for path in REQUIRED}
    for valid in (VALID, minimal):
        _check(_body(valid), plainly_valid=True)
        for path in PATHS:
            for value in _pool(path):
                still_valid = value in ALSO_VALID.get(path, []) or (
                    value is DROP and path in VALID and path not in REQUIRED)
                _check(_mutated(_body(valid), [(path, value)]), plainly_valid=still_valid)


def test_the_reader_agrees_with_the_serializer_on_generated_bodies(east):
    @st.composite
    def cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        valid = {path: VALID[path] for path in REQUIRED}
        for path in draw(st.sets(st.sampled_from([p for p in VALID if p not in REQUIRED]))):
            valid[path] = VALID[path]
        for path, others in ALSO_VALID.items():
            if path in valid:
                valid[path] = draw(st.sampled_from([valid[path], *others]))
        change = st.sampled_from(PATHS).flatmap(lambda path: st.tuples(
            st.just(path), st.one_of(st.sampled_from(_pool(path)), st.text(max_size=4))))
        return _body(valid), draw(st.lists(change, max_size=3))

    @settings(max_examples=500, deadline=None, database=None)
    @given(cases())
    def check(case: tuple[dict[str, Any], list[tuple[str, Any]]]) -> None:
        body, changes = case
        _check(_mutated(body, changes), plainly_valid=not changes)

    check()


@pytest.mark.parametrize("day", ["20261120", "2026-W47-5"])
def test_other_forms_of_a_day_are_left_to_the_serializer(intake, day):
    # R3: the reader takes the preferred day only as YYYY-MM-DD; the serializer decides
    # on the other ISO 8601 forms (and accepts these).
    body = intake(preferred_day=day)
    assert order_intake(body) is None
    assert _validated(body)["preferred_day"] == dt.date(2026, 11, 20)


@pytest.mark.parametrize("body", [None, [], "hotline", 7, [{"channel": "hotline"}]])
def test_anything_but_an_object_goes_to_the_serializer(body, east):
    assert order_intake(body) is None


def test_the_reader_knows_every_check_beyond_the_fields():
    # api.intake reads the declared fields and looks the area up; any other method, hook or
    # Meta of the serializers (beyond StrictSerializer's) would be skipped by it.
    for serializer, own in ((s.WorkOrderCreateSerializer, {"validate_area"}),
                            (s.CustomerInSerializer, set())):
        assert serializer.__bases__ == (s.StrictSerializer,)
        assert {name for name in vars(serializer) if not name.startswith("_")} == own


@pytest.fixture
def serializers_built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Each WorkOrderCreateSerializer the view builds."""
    built: list[Any] = []
    init = s.WorkOrderCreateSerializer.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(kwargs.get("data"))
        init(self, *args, **kwargs)

    monkeypatch.setattr(s.WorkOrderCreateSerializer, "__init__", counting)
    return built


def test_a_plainly_valid_body_is_created_without_the_serializer(cc, intake, east,
                                                                 serializers_built):
    response = cc.create(intake(customer={"name": "张伟", "phone": "13812345678",
                                          "customer_class": "vip"}, external_ref="CC-9"))
    assert response.status_code == 201, response.body
    assert serializers_built == []
    order = WorkOrder.objects.get()
    assert order.area == east and order.customer_class == "vip"
    assert order.external_ref == "CC-9" and order.customer.alt_phone == ""


def test_a_body_the_reader_declines_gets_the_serializers_answer(cc, intake, serializers_built):
    body = intake(channel="fax", customer={"name": "张伟", "phone": "138-1234-567"},
                  area="NOPE")
    response = cc.create(body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in response.body["errors"]} == {"channel", "customer.phone",
                                                             "area"}
    assert len(serializers_built) == 1
    # padding is the serializer's to trim: accepted, and stored trimmed
    response = cc.create(intake(customer={"name": " 张伟 ", "phone": "13812345678"}))
    assert response.status_code == 201, response.body
    assert WorkOrder.objects.get().customer.name == "张伟"
    assert len(serializers_built) == 2


def test_a_retry_is_replayed_when_its_body_no_longer_passes(cc, intake, east,
                                                            serializers_built):
    body = intake()
    first = cc.create(body, key="area-renamed")
    assert first.status_code == 201, first.body
    east.code = "BJ-DC-99"  # the area the body names is gone under that code
    east.save()
    again = cc.create(body, key="area-renamed")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.body == first.body
    assert len(serializers_built) == 1  # asked, refused, then the first answer replayed
    fresh = cc.create(body)
    assert fresh.status_code == 400
    assert [e["field"] for e in fresh.body["errors"]] == ["area"]
