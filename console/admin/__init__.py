"""The dispatcher's desk. Django's admin autodiscovery imports ``console.admin``; importing
each desk module here registers its pages."""

from . import (
    appointments,
    assessment,
    exemptions,
    inventory,
    orders,
    quality,
    technicians,
    visits,
)

__all__ = ["appointments", "assessment", "exemptions", "inventory", "orders", "quality",
           "technicians", "visits"]
