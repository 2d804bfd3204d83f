"""Control and invisible characters in names and texts (issue 18): refused in one-line
fields with a message that names them, removed from free text."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from fieldops.text import (
    FreeTextField,
    LineField,
    refuse_hidden_characters,
    strip_hidden_characters,
)


@pytest.fixture(autouse=True)
def _in_english():
    """The messages are read as written (their zh-Hans text is in locale/)."""
    with translation.override("en"):
        yield


RLO, ZWSP, BOM, LRI = "\u202e", "\u200b", "\ufeff", "\u2066"


@pytest.mark.parametrize("value", [
    f"张{RLO}伟", f"138{ZWSP}12345678", f"{BOM}北京市东城区", "王\x00芳", "王\x1b[31m芳",
    f"a{LRI}b", "name\nsecond line", "a\u2028b", "a\x85b", "a\ue000b",
])
def test_a_line_with_a_control_or_invisible_character_is_refused(value):
    # Defect: names, phones and addresses accepted NUL, bidi overrides and zero-width
    # characters, stored as typed.
    with pytest.raises(ValidationError) as refused:
        refuse_hidden_characters(value)
    message = refused.value.messages[0]
    assert "U+" in message and "character" in message


def test_the_message_names_the_character_and_where_it_is():
    with pytest.raises(ValidationError) as refused:
        refuse_hidden_characters(f"张{RLO}伟")
    assert "U+202E RIGHT-TO-LEFT OVERRIDE (character 2)" in refused.value.messages[0]


@pytest.mark.parametrize("value", ["张伟", "O'Brien-Smith", "北京市 东城区\u300088 号",
                                   "+8613812345678", "Zoë Ærø", "", "👍🏽"])
def test_visible_text_passes(value):
    refuse_hidden_characters(value)


def test_free_text_loses_hidden_characters_and_keeps_its_lines():
    typed = f"光猫{RLO}不亮{ZWSP}\r\n第二行\tok{BOM}\x00 家庭 👨\u200d👩\u200d👧 a\u2028b"
    assert strip_hidden_characters(typed) == "光猫不亮\r\n第二行\tok 家庭 👨\u200d👩\u200d👧 a\nb"
    assert strip_hidden_characters("plain text") == "plain text"


def test_the_form_fields_refuse_or_strip():
    line = LineField(max_length=100)
    with pytest.raises(ValidationError):
        line.clean(f"张{RLO}伟")
    assert line.clean(" 张伟 ") == "张伟"
    free = FreeTextField(required=True)
    assert free.clean(f"{ZWSP} 不亮\x00 ") == "不亮"
    with pytest.raises(ValidationError):
        free.clean(f"{ZWSP}{BOM}")  # nothing visible left: still required
