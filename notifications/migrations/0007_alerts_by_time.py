"""The alerts inbox reads the in-app alerts of the last ``ALERTS_INBOX_DAYS`` (console.inbox):
a BRIN index on ``created_at`` finds them in a table the SLA storms fill, at almost no cost
to each insert (rows arrive in time order). PostgreSQL only; the embedded SQLite database
is small and needs none."""

from django.db import migrations

INDEX = "notification_created_brin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON notifications_notification "
            "USING brin (created_at)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [("notifications", "0006_fewer_insert_indexes")]

    operations = [migrations.RunPython(create, drop)]
