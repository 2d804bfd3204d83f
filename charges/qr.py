"""The QR code the technician's phone shows (R47): an inline SVG made by segno (pure
Python, no image files), so the page works without a network round trip for an image."""

from __future__ import annotations

import segno


def qr_svg(payload: str) -> str:
    """An inline ``<svg>`` of ``payload``, dark on white, with a quiet zone; sized by CSS."""
    code = segno.make(payload, error="m")
    return str(code.svg_inline(scale=4, border=4, dark="#000", light="#fff",
                               omitsize=True, svgclass="qr", lineclass=None))
