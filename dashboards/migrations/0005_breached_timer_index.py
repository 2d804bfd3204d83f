"""Breach attribution lists the newest breaches first (R38, R39); this partial index holds
only the breached timers, in breach order, so the page reads the first hundred directly."""

from django.db import migrations

INDEX = "dashboard_timer_breached"


class Migration(migrations.Migration):

    dependencies = [
        ("dashboards", "0004_duration_histogram"),
        ("sla", "0003_timers"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON sla_timer (breached_at) "
            "WHERE breached_at IS NOT NULL",
            f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
