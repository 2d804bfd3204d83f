"""The "Now" panel reads the open timers that are at risk or breached (R38, R39); this
partial index holds only those rows, so the panel stays fast however many timers exist."""

from django.db import migrations

INDEX = "dashboard_timer_open_warned"


class Migration(migrations.Migration):

    dependencies = [
        ("dashboards", "0001_initial"),
        ("sla", "0003_timers"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON sla_timer (warned_at) "
            "WHERE status IN ('armed', 'paused') AND warned_at IS NOT NULL",
            f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
