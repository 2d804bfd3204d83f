from django.apps import AppConfig


class FieldappConfig(AppConfig):
    """The technician's phone pages (``/tech/``): a face over the order services."""

    name = "fieldapp"
