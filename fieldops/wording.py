"""What technicians and customers read: plain words, no rule ids ("R26") or internal
names. The domain's messages cite their rule for the desk, the API and the logs
("Only the customer signs (R26)."); the technician's and the customer's pages show them
through ``plain`` (the rule stays in the error's ``rule`` attribute)."""

from __future__ import annotations

import re
from typing import Any

_RULE = r"R\d+[a-z]?"
#: "(R26)", "（R31、R32）", "(R9, R11)", "(R22: data loss)" as a whole when it only cites.
_CITED = re.compile(
    r"\s*[(（]\s*" + _RULE + r"(?:\s*[,，、/–-]\s*" + _RULE + r")*\s*[)）]")
#: "R4" left inside other words: "(dispatch, R4)" → "(dispatch)"; "R12: " at the start.
_INSIDE = re.compile(r"\s*[,，、;；]\s*" + _RULE + r"(?=\s*[)）])|\b" + _RULE + r"\s*[:：]\s*"
                     r"|\s*[,，、]?\s*\b" + _RULE + r"\b")


def plain(message: Any) -> str:
    """``message`` without the rule ids it cites (punctuation and spacing kept tidy)."""
    text = _CITED.sub("", str(message))
    text = _INSIDE.sub("", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()
