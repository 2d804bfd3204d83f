"""Reads about the people who do and supervise the work."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from fieldops import roles

from .models import Technician


def supervisors_for(technician: Technician | None) -> list[Any]:
    """R16, R33, R38: who is told about a technician's broken promise: their team's
    supervisor, or every active supervisor when the team has none (or nobody holds the
    order)."""
    team = technician.team if technician is not None else None
    if team is not None and team.supervisor_id:
        return [team.supervisor]
    return list(get_user_model().objects.filter(groups__name=roles.SUPERVISOR,
                                                is_active=True))
