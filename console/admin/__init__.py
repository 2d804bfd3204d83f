"""The dispatcher's desk. Django's admin autodiscovery imports ``console.admin``; importing
each desk module here registers its pages."""

from . import (
    appointments,
    assessment,
    charges,
    exemptions,
    inventory,
    orders,
    outages,
    phonesteps,
    quality,
    technicians,
    visits,
)

__all__ = ["appointments", "assessment", "charges", "exemptions", "inventory", "orders",
           "outages", "phonesteps", "quality",
           "technicians", "visits"]
