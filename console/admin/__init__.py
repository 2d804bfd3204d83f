"""The dispatcher's desk. Django's admin autodiscovery imports ``console.admin``; importing
each desk module here registers its pages."""

from . import appointments, exemptions, orders, technicians

__all__ = ["appointments", "exemptions", "orders", "technicians"]
