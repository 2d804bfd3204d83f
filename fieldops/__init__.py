"""fieldops: field-service work orders for telecom install, move and repair."""

from .celery import app as celery_app

__all__ = ("celery_app",)
