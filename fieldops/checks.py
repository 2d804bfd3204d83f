"""System checks of the kernel (``manage.py check``, run before every server start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

from . import npm


@register(Tags.staticfiles)
def npm_packages_fetched(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """fieldops.E001: a front-end package npm.toml pins is not unpacked in var/npm/ (its
    pages would load nothing)."""
    try:
        missing = npm.missing(settings.BASE_DIR)
    except npm.NpmError as exc:
        return [Error(str(exc), hint="Fix npm.toml.", id="fieldops.E001")]
    return [Error(f"The npm package {p.name} {p.version} that npm.toml pins is not in "
                  f"{p.folder(settings.BASE_DIR)}.",
                  hint="Run `python3 dev.py npm` (it fetches and verifies it).",
                  id="fieldops.E001") for p in missing]
