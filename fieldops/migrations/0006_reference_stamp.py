"""The reference stamp (``fieldops.refdata``): its row and the trigger function that
renews it. PostgreSQL only; the tables' triggers are in their apps' migrations."""

from typing import Any

from django.db import migrations

from fieldops import refdata


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(refdata.CREATE_SQL)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(refdata.DROP_SQL)


class Migration(migrations.Migration):

    dependencies = [
        ('fieldops', '0005_queued_task'),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
