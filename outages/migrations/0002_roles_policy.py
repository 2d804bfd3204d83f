"""R54: the dispatchers', call-centre's and supervisors' permissions on outages
(fieldops/roles.py), and the default policy (editable in the admin)."""

from django.db import migrations

from fieldops.roles import sync_roles


def seed(apps, schema_editor):
    Policy = apps.get_model("outages", "OutagePolicy")
    Policy.objects.get_or_create(name="Default", defaults={
        "proposal_count": 5, "proposal_window_minutes": 60, "repair_target_minutes": 8 * 60,
        "warn_percent": 80, "answer_hours": 4})


class Migration(migrations.Migration):
    dependencies = [("outages", "0001_initial"), ("fieldops", "0004_roles_customer_merge")]

    operations = [
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
