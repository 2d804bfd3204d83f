"""Responses rendered from the serializers that document them, without DRF's per-request
and per-field overhead.

A response serializer stays the one definition of its shape (and of the OpenAPI
document). ``renderer`` reads it once per process into a plain function: per field its
name, how to get its value (``field.get_attribute``, or a getter that the caller derives
from the same field, as ``api.readers`` does for raw rows) and how to show the value (the
field's own ``to_representation``, or the nested serializer's renderer). Applying that to
an object gives what ``Serializer(obj).data`` gives, by construction; building the
serializer each time copied every field, and was most of the cost of a response.

The one answer that depends on the caller is R40's masking (``ShownPhoneField``), so a
renderer is made per serializer and per ``pii`` (may the caller see full phone numbers).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

from django.conf import settings
from django.db.models.manager import BaseManager
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.fields import SkipField
from rest_framework.settings import api_settings

from .serializers import ShownPhoneField

Render = Callable[[Any], Any]
#: How a value is shown: ``show(value, tz)``, ``tz`` the current time zone (looked up once
#: per response, not once per time shown).
Show = Callable[[Any, Any], Any]
Step = tuple[str, Callable[[Any], Any], Show]
#: How to get a field's value: given the field and its source path from the outermost
#: serializer (a nested serializer's own path for a nested one), a function of the
#: instance handed to that field's serializer; or None for DRF's ``field.get_attribute``.
GetterFor = Callable[[serializers.Field, tuple[str, ...]], Callable[[Any], Any] | None]


def _attribute(field: serializers.Field, path: tuple[str, ...]) -> None:
    return None


def plan(serializer: Any, *, pii: bool,
         getter_for: GetterFor = _attribute, path: tuple[str, ...] = ()) -> list[Step]:
    """Per readable field of ``serializer``: (name, getter, how the value is shown)."""
    steps = []
    for name, field in serializer.fields.items():
        if field.write_only:
            continue
        if isinstance(field, serializers.SerializerMethodField):
            raise TypeError(f"{type(serializer).__name__}.{name}: a method field can't be "
                            f"rendered from the definition; give the field a source")
        field_path = path if field.source == "*" else (*path, *field.source_attrs)
        getter = getter_for(field, field_path) or field.get_attribute
        steps.append((name, getter, _shown(field, pii=pii, getter_for=getter_for,
                                           path=field_path)))
    return steps


def _shown(field: serializers.Field, *, pii: bool, getter_for: GetterFor,
           path: tuple[str, ...]) -> Show:
    if isinstance(field, serializers.ListSerializer):
        item = _render_steps(plan(field.child, pii=pii))  # items: their own attributes

        def many(value: Any, tz: Any) -> list[Any]:
            return [item(one, tz) for one in (value.all() if isinstance(value, BaseManager)
                                              else value)]

        return many
    if isinstance(field, serializers.BaseSerializer):
        return _render_steps(plan(field, pii=pii, getter_for=getter_for, path=path))
    if isinstance(field, ShownPhoneField):
        phone = field.shown_for(pii=pii)
        return lambda value, tz: phone(value)
    return _leaf(field)


def _own(field: serializers.Field, kind: type[serializers.Field]) -> bool:
    """The field shows values as ``kind`` does (not a subclass that shows them its way)."""
    return type(field).to_representation is kind.to_representation


def _leaf(field: serializers.Field) -> Show:
    """The field's ``to_representation``; for the common kinds, the same in fewer steps
    (DRF's asks for the current time zone for every time it shows)."""
    if _own(field, serializers.IntegerField):
        return lambda value, tz: int(value)
    if _own(field, serializers.CharField):
        return lambda value, tz: str(value)
    if _own(field, serializers.ChoiceField):
        known = cast(serializers.ChoiceField, field).choice_strings_to_values
        return lambda value, tz: value if value == "" else known.get(str(value), value)
    if (_own(field, serializers.DateTimeField) and settings.USE_TZ
            and not hasattr(field, "timezone")
            and str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower()
            == ISO_8601):
        slow = field.to_representation

        def moment(value: Any, tz: Any) -> Any:
            if not isinstance(value, dt.datetime) or value.utcoffset() is None:
                return slow(value)  # text, a naive time: as DRF does it
            text = value.astimezone(tz).isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text

        return moment
    if (_own(field, serializers.DateField)
            and str(getattr(field, "format", api_settings.DATE_FORMAT)).lower() == ISO_8601):
        slow_day = field.to_representation
        return lambda value, tz: (value.isoformat() if type(value) is dt.date
                                  else slow_day(value))
    show = field.to_representation
    return lambda value, tz: show(value)


def _render_steps(steps: Sequence[Step]) -> Show:
    steps = tuple(steps)

    def render(instance: Any, tz: Any) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name, get, show in steps:
            try:
                value = get(instance)
            except SkipField:
                continue
            data[name] = None if value is None else show(value, tz)
        return data

    return render


def current_timezone() -> Any:
    return timezone.get_current_timezone() if settings.USE_TZ else None


@functools.cache
def rows_renderer(serializer_class: Any, *, pii: bool) -> Show:
    """``renderer``'s function of (instance, the current time zone): for many rows."""
    return _render_steps(plan(serializer_class(), pii=pii))


@functools.cache
def renderer(serializer_class: Any, *, pii: bool) -> Render:
    """``serializer_class(instance, context={"request": r}).data`` as a plain function, for a
    caller who may (``pii``) or may not see full phone numbers (R40)."""
    render = rows_renderer(serializer_class, pii=pii)
    return lambda instance: render(instance, current_timezone())


def render(serializer_class: Any, instance: Any, *,
           pii: bool) -> dict[str, Any]:
    return renderer(serializer_class, pii=pii)(instance)
