"""Phone numbers, read with Google's libphonenumber (the ``phonenumbers`` package).

Call centres send numbers as people say them: ``138 0013 8000``, ``+86-138-0013-8000``,
``(010) 6552 9988``, ``0085261234567``. Each is read in ``PHONE_REGION`` (default ``CN``),
must be a number that can exist there (the length and the prefixes of the region's mobile
and fixed-line plans), and is kept in one form (``normalized``):

- a number of the home region as the digits of its national form: ``13800138000`` (a
  mobile), ``01065529988`` (a fixed line, with its area code and trunk 0);
- any other as E.164: ``+85261234567``.

The SMS gateways take E.164 (``e164``), and only mobiles (``is_mobile``). Every face reads
numbers through here: the API's ``PhoneField``, the model field ``PhoneNumberField`` (the
admin's forms clean through it), the SMS backends.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from .text import LineField

#: Longest input read (the model's columns are 32 long; a formatted number fits).
MAX_LENGTH = 32
#: What a number may be written with besides digits: a leading +, spaces, dashes, dots,
#: parentheses.
WRITTEN = re.compile(r"^\+?[0-9 ().\-]+$")
NOT_DIGITS = re.compile(r"[^0-9]")

INVALID = _("Give a phone number that exists: a mobile (13812345678), a fixed line with its "
            "area code (010 6552 9988), or another country's number after + and its country "
            "code (+852 6123 4567).")


def region() -> str:
    return str(getattr(settings, "PHONE_REGION", "CN"))


def parse(value: str) -> phonenumbers.PhoneNumber:
    """The number ``value`` names, read in the home region; ValidationError (code
    ``phone``) when it is none."""
    if not isinstance(value, str) or len(value) > MAX_LENGTH or not WRITTEN.match(value):
        raise ValidationError(INVALID, code="phone")
    try:
        number = phonenumbers.parse(value, region())
    except phonenumbers.NumberParseException:
        raise ValidationError(INVALID, code="phone") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(INVALID, code="phone")
    return number


def normalized(value: str) -> str:
    """The one stored form of a number (see the module's docstring)."""
    return _normalized(value, region())


@functools.lru_cache(maxsize=4096)
def _normalized(value: str, home: str) -> str:
    # Reading a number costs ~40 us; a call centre sends the same ones again and again.
    number = parse(value)
    if phonenumbers.region_code_for_number(number) == home:
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        return NOT_DIGITS.sub("", national)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def e164(value: str) -> str:
    """``+8613800138000``: what SMS gateways take."""
    return phonenumbers.format_number(parse(value), PhoneNumberFormat.E164)


MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def is_mobile(value: str) -> bool:
    """Can the number take an SMS (a mobile, or a plan that does not tell them apart)?"""
    try:
        number = parse(value)
    except ValidationError:
        return False
    return phonenumbers.number_type(number) in MOBILE_TYPES


class PhoneFormField(LineField):
    """A form's phone number: hidden characters and impossible numbers are refused with a
    message that says what to write; the cleaned value is in ``normalized`` form."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_LENGTH)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        return normalized(value) if value else value


class PhoneNumberField(models.CharField):
    """A phone number column, kept in ``normalized`` form: a form's value is cleaned into it
    (the admin, ``full_clean``: an impossible number is refused), and a number written by
    code is put into it on save when it can be read (one that cannot is kept as given:
    saving is not the place to refuse it). The column stays text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_LENGTH)
        super().__init__(*args, **kwargs)

    def clean(self, value: Any, model_instance: Any) -> Any:
        value = super().clean(value, model_instance)
        return normalized(value) if value else value

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": PhoneFormField, **kwargs})

    def pre_save(self, model_instance: Any, add: bool) -> Any:
        value = super().pre_save(model_instance, add)
        if value:
            try:
                value = normalized(value)
            except ValidationError:
                return value
            setattr(model_instance, self.attname, value)
        return value


def normalize_stored(model: Any, *fields: str) -> int:
    """Put the numbers already stored in ``fields`` of ``model`` into ``normalized`` form
    (a data migration's step; one that cannot be read is left as it is). How many rows
    changed."""
    changed = 0
    rows = model.objects.only("pk", *fields).order_by("pk")
    for row in rows.iterator(chunk_size=2000):
        dirty = []
        for name in fields:
            value = getattr(row, name)
            try:
                better = normalized(value) if value else value
            except ValidationError:
                continue
            if better != value:
                setattr(row, name, better)
                dirty.append(name)
        if dirty:
            row.save(update_fields=dirty)
            changed += 1
    return changed
