"""Webhook endpoints and API clients are reference data: a write renews the reference
stamp (``fieldops.refdata``)."""

from django.db import migrations

from fieldops import refdata


class Migration(migrations.Migration):

    dependencies = [
        ('fieldops', '0006_reference_stamp'),
        ('api', '0003_dispatcher_clients'),
    ]

    operations = refdata.migration_operations("api_webhookendpoint", "api_apiclient")
