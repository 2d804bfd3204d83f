"""Text typed by people and sent by other systems: no control or invisible characters.

A NUL byte breaks PostgreSQL, a right-to-left override makes an address or a name read
differently from what is stored (a phone number with U+202E inside shows its digits in
another order), a
zero-width space makes two equal names differ. Every face (the API, the technicians' and
customers' pages, the admin) goes through the rules here:

- **lines** (names, phone numbers, addresses, account numbers, references): refused, with
  the character and its position, so the sender can fix it (``refuse_hidden_characters``,
  a model field validator and the ``LineField`` form field);
- **free text** (symptoms, notes, reasons, comments): the hidden characters are removed,
  line breaks and tabs kept (``strip_hidden_characters``, the ``FreeTextField`` form field).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: Unicode categories nobody needs to type: controls (NUL, ESC, DEL, C1), format characters
#: (bidi overrides and isolates, zero-width space and joiners, BOM, soft hyphen), private
#: use, lone surrogates, line and paragraph separators.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})
#: Kept in free text: line breaks, tabs, and the zero-width joiner that builds emoji
#: (a family, a skin tone) out of several.
FREE_TEXT_KEEPS = frozenset("\n\r\t\u200d")
#: Line and paragraph separators become a line break in free text.
LINE_BREAKS = {"\u2028": "\n", "\u2029": "\n", "\x85": "\n"}


def is_hidden(char: str) -> bool:
    return unicodedata.category(char) in HIDDEN_CATEGORIES


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``, ``U+0000`` (controls have no name)."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".strip()


def refuse_hidden_characters(value: Any) -> None:
    """Validator for one-line fields: names, phone numbers, addresses, codes."""
    if not isinstance(value, str):
        return
    for position, char in enumerate(value, start=1):
        if is_hidden(char):
            raise ValidationError(
                _("Remove the invisible or control character %(char)s (character %(position)s); "
                  "names, phone numbers and addresses take visible characters only."),
                code="hidden_character", params={"char": describe(char), "position": position})


def strip_hidden_characters(value: str) -> str:
    """Free text without its hidden characters; line breaks and tabs are kept."""
    if value.isprintable():  # the usual case: nothing to look at
        return value
    kept = []
    for char in value:
        char = LINE_BREAKS.get(char, char)
        if char in FREE_TEXT_KEEPS or not is_hidden(char):
            kept.append(char)
    return "".join(kept)


class LineField(forms.CharField):
    """A one-line form field (a name, a phone number, an address): hidden characters are
    refused with a message that names them."""

    default_validators = [refuse_hidden_characters]


class FreeTextField(forms.CharField):
    """A free-text form field: hidden characters are removed, line breaks kept."""

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if isinstance(value, str):
            value = strip_hidden_characters(value)
            if self.strip:
                value = value.strip()
        return value
