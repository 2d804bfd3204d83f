"""``{% load console %}``: the admin header's alerts link with its unread count."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from console.inbox import unread_count

register = template.Library()


@register.inclusion_tag("admin/console/alerts_link.html", takes_context=True)
def alerts_link(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    return {"unread": unread_count(user), "refresh_seconds": settings.CONSOLE_REFRESH_SECONDS}
