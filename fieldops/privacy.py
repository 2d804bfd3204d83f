"""Customer personal data (R40): masked for everyone whose work does not need it."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """Keep the first three and last four digits: 13812345678 -> 138****5678."""
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_name(name: str) -> str:
    """Keep the first character (the family name): 张伟 -> 张*, Li Na -> L****."""
    text = name.strip()
    if not text:
        return ""
    return f"{text[0]}{'*' * max(len(text) - 1, 1)}"
