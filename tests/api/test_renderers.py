"""The API's JSON renderer (orjson) writes the bytes DRF's JSONRenderer writes."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer as DrfJSONRenderer

from api.renderers import JSONRenderer

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(), st.sampled_from(["\u2028", "a\u2029b", "\x00\x1f\x7f", "张伟 \"引号\" \\"]),
    st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))])),
    st.datetimes(), st.dates(), st.times(), st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**6,
                min_value=-(10**6)),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=20)


def test_the_bytes_are_drfs_for_generated_values():
    @settings(max_examples=500, deadline=None)
    @given(VALUES)
    def check(value):
        assert JSONRenderer().render(value) == DrfJSONRenderer().render(value)

    check()


def test_what_orjson_leaves_to_drf_is_written_as_drf_writes_it():
    for value in ({"lazy": gettext_lazy("Order created")}, {"big": 2**70},
                  {"set": {3}}, {1: "int key"}, {"d": decimal.Decimal("1.50")},
                  {"u": uuid.UUID(int=7)}, [dt.timedelta(seconds=90)]):
        assert JSONRenderer().render(value) == DrfJSONRenderer().render(value), value
    assert JSONRenderer().render(None) == b""
    indented = JSONRenderer().render({"a": [1]}, "application/json; indent=2")
    assert indented == DrfJSONRenderer().render({"a": [1]}, "application/json; indent=2")


def test_floats_are_the_same_numbers():
    for number in (0.1, 1e16, -2.5e-7, 123456.789):
        assert json.loads(JSONRenderer().render([number])) == [number]
