from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The customer's pages behind signed SMS links (``/c/`` appointments, ``/s/`` surveys)."""

    name = "portal"
