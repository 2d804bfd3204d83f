"""Order events reach webhook endpoints in the transaction that writes them (outbox).

A receiver, because ``workorders.services.record_event`` belongs to another app; it only
hands the row to ``api.services`` and does nothing when no endpoint is registered.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from workorders.models import WorkOrderEvent


@receiver(post_save, sender=WorkOrderEvent, dispatch_uid="api.webhooks.order_event")
def order_event_to_webhooks(sender: Any, instance: WorkOrderEvent, created: bool,
                            raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        from .services import webhook_publish_order_event

        webhook_publish_order_event(event=instance)
