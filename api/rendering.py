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

import functools
from collections.abc import Callable, Sequence
from typing import Any

from django.db.models.manager import BaseManager
from rest_framework import serializers
from rest_framework.fields import SkipField

from .serializers import ShownPhoneField

Render = Callable[[Any], Any]
#: How to get a field's value: given the field and its source path from the outermost
#: serializer (a nested serializer's own path for a nested one), a function of the
#: instance handed to that field's serializer; or None for DRF's ``field.get_attribute``.
GetterFor = Callable[[serializers.Field, tuple[str, ...]], Callable[[Any], Any] | None]


def _attribute(field: serializers.Field, path: tuple[str, ...]) -> None:
    return None


def plan(serializer: serializers.BaseSerializer, *, pii: bool,
         getter_for: GetterFor = _attribute, path: tuple[str, ...] = ()
         ) -> list[tuple[str, Callable[[Any], Any], Render]]:
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
           path: tuple[str, ...]) -> Render:
    if isinstance(field, serializers.ListSerializer):
        item = _render_steps(plan(field.child, pii=pii))  # items: their own attributes

        def many(value: Any) -> list[Any]:
            return [item(one) for one in (value.all() if isinstance(value, BaseManager)
                                          else value)]

        return many
    if isinstance(field, serializers.BaseSerializer):
        return _render_steps(plan(field, pii=pii, getter_for=getter_for, path=path))
    if isinstance(field, ShownPhoneField):
        return field.shown_for(pii=pii)
    return field.to_representation


def _render_steps(steps: Sequence[tuple[str, Callable[[Any], Any], Render]]) -> Render:
    steps = tuple(steps)

    def render(instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name, get, show in steps:
            try:
                value = get(instance)
            except SkipField:
                continue
            data[name] = None if value is None else show(value)
        return data

    return render


@functools.cache
def renderer(serializer_class: type[serializers.BaseSerializer], *, pii: bool) -> Render:
    """``serializer_class(instance, context={"request": r}).data`` as a plain function, for a
    caller who may (``pii``) or may not see full phone numbers (R40)."""
    return _render_steps(plan(serializer_class(), pii=pii))


def render(serializer_class: type[serializers.BaseSerializer], instance: Any, *,
           pii: bool) -> dict[str, Any]:
    return renderer(serializer_class, pii=pii)(instance)
