"""``{% rework_card order %}``: on the technician's order page, what the unsatisfied
customer said in this rework round (R31), so the call starts from the complaint."""

from __future__ import annotations

from typing import Any

from django import template

from surveys.models import ReworkOutcome, ReworkRound

register = template.Library()


@register.inclusion_tag("survey/_rework_card.html")
def rework_card(order: Any) -> dict[str, Any]:
    round_ = None
    if order.state == "rework":
        round_ = (ReworkRound.objects.filter(order=order, outcome=ReworkOutcome.OPEN)
                  .select_related("survey").order_by("-number").first())
    return {"round": round_, "survey": round_.survey if round_ else None}
