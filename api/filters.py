"""The order list's query string, read without building a serializer for the common case.

``OrderFilterSerializer`` is the one definition (schema, messages, every edge case, and
the limits below: lengths, ranges, choices and defaults are read from its fields once per
process). This reader accepts only plainly valid values and returns None for anything
else, and the view then asks the serializer, which refuses or accepts it with its own
messages. Building the serializer copies its 16 fields on every request (~0.3 ms), a
tenth of a list request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from rest_framework import fields as f
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from .serializers import OrderFilterSerializer

#: The checks of a plain CharField that ``_plain_text`` makes too; a field with any other
#: validator is left to the serializer.
_PLAIN_TEXT_CHECKS = (MaxLengthValidator, ProhibitNullCharactersValidator,
                      ProhibitSurrogateCharactersValidator)


@dataclass(frozen=True)
class Limits:
    """What a plainly valid value of each filter is, as the serializer's fields say."""

    text: dict[str, int]  # name: longest value
    numbers: dict[str, tuple[int | None, int | None]]  # name: (lowest, highest)
    choices: dict[str, frozenset[str]]
    multiple: dict[str, frozenset[str]]  # comma-separated or repeated
    defaults: dict[str, Any]


def limits_of(serializer_class: type[Any]) -> Limits:
    """The limits of a filter serializer's fields. A field of another kind (a time, a
    boolean...) is left to the serializer."""
    text: dict[str, int] = {}
    numbers: dict[str, tuple[int | None, int | None]] = {}
    choices: dict[str, frozenset[str]] = {}
    multiple: dict[str, frozenset[str]] = {}
    defaults: dict[str, Any] = {}
    for name, field in serializer_class().fields.items():
        if field.default is not f.empty:
            defaults[name] = field.default
        if isinstance(field, f.MultipleChoiceField):
            multiple[name] = frozenset(str(key) for key in field.choices)
        elif isinstance(field, f.ChoiceField) and not field.allow_blank:
            choices[name] = frozenset(str(key) for key in field.choices)
        elif isinstance(field, f.IntegerField):
            numbers[name] = (field.min_value, field.max_value)
        elif (type(field) is f.CharField and field.max_length is not None
              and not field.allow_blank and field.trim_whitespace
              and all(isinstance(v, _PLAIN_TEXT_CHECKS) for v in field.validators)):
            text[name] = field.max_length
    return Limits(text, numbers, choices, multiple, defaults)


@functools.cache
def order_limits() -> Limits:
    return limits_of(OrderFilterSerializer)


def _plain_text(value: str, longest: int) -> bool:
    return (0 < len(value) <= longest and value == value.strip() and "\x00" not in value
            and not any("\ud800" <= ch <= "\udfff" for ch in value))


def _plain_number(value: str, low: int | None, high: int | None) -> bool:
    return (value.isascii() and value.isdigit() and len(value) <= 20
            and (low is None or low <= int(value)) and (high is None or int(value) <= high))


def order_filters(query: Any) -> dict[str, Any] | None:
    """The validated filters of GET /work-orders/ (as the serializer would give them), or
    None when the query string needs the serializer: a time filter, an unknown name, an
    empty, padded, too long or unknown value."""
    limits = order_limits()
    filters: dict[str, Any] = dict(limits.defaults)
    for name in query:
        values = query.getlist(name)
        if not values:
            return None
        if name in limits.multiple:
            picked = list(dict.fromkeys(s for v in values for s in v.split(",") if s))
            if not picked or not limits.multiple[name].issuperset(picked):
                return None
            filters[name] = picked
            continue
        value = values[-1]  # as the serializer: the last one wins
        if name in limits.text:
            if not _plain_text(value, limits.text[name]):
                return None
            filters[name] = value
        elif name in limits.numbers:
            if not _plain_number(value, *limits.numbers[name]):
                return None
            filters[name] = int(value)
        elif name in limits.choices:
            if value not in limits.choices[name]:
                return None
            filters[name] = value
        else:
            return None
    return filters
