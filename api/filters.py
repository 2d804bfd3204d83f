"""The order list's query string, read without building a serializer for the common case.

``OrderFilterSerializer`` stays the definition (schema, messages, every edge case): this
reader accepts only plainly valid values and returns None for anything else, and the view
then asks the serializer, which refuses or accepts it with its own messages. Building the
serializer copies its 16 fields on every request (~0.3 ms), a tenth of a list request.
``tests/api/test_performance.py`` checks the two agree on generated query strings.
"""

from __future__ import annotations

from typing import Any

from workorders.models import Kind, State

#: Text filters and their longest accepted value (OrderFilterSerializer's max_length).
TEXT = {"area": 32, "customer_phone": 32, "account": 32, "external_ref": 64, "cursor": 200}
#: Whole-number filters and their bounds.
NUMBERS = {"technician": (1, 2**62), "page_size": (1, 200)}
CHOICES = {"kind": frozenset(Kind.values), "sla_status": frozenset({"at_risk", "breached"}),
           "ordering": frozenset({"-id", "id"})}
STATES = frozenset(State.values)


def _plain_text(value: str, longest: int) -> bool:
    return (0 < len(value) <= longest and value == value.strip() and "\x00" not in value
            and not any("\ud800" <= ch <= "\udfff" for ch in value))


def order_filters(query: Any) -> dict[str, Any] | None:
    """The validated filters of GET /work-orders/ (as the serializer would give them), or
    None when the query string needs the serializer: a time filter, an unknown name, an
    empty, padded, too long or unknown value."""
    filters: dict[str, Any] = {"ordering": "-id"}
    for name in query:
        values = query.getlist(name)
        if not values:
            return None
        if name == "state":
            states = list(dict.fromkeys(s for v in values for s in v.split(",") if s))
            if not states or not STATES.issuperset(states):
                return None
            filters[name] = states
            continue
        value = values[-1]  # as the serializer: the last one wins
        if name in TEXT:
            if not _plain_text(value, TEXT[name]):
                return None
            filters[name] = value
        elif name in NUMBERS:
            low, high = NUMBERS[name]
            if not (value.isascii() and value.isdigit() and len(value) <= 20
                    and low <= int(value) <= high):
                return None
            filters[name] = int(value)
        elif name in CHOICES:
            if value not in CHOICES[name]:
                return None
            filters[name] = value
        else:
            return None
    return filters
