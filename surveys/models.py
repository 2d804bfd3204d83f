"""Callback surveys and the rework loop (R29-R33) live here."""
