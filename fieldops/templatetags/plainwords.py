"""``{{ text|plain }}``: a message or label without the rule ids it cites, for the pages
technicians and customers read (``fieldops.wording``)."""

from __future__ import annotations

from typing import Any

from django import template

from fieldops.wording import plain as _plain

register = template.Library()


@register.filter
def plain(value: Any) -> str:
    return _plain(value)
