"""R54: the dispatchers', call-centre's and supervisors' permissions on outages
(fieldops/roles.py), the default policy (editable in the admin), and the reference stamp's
triggers on the outages and the access nodes (fieldops.refdata)."""

from django.db import migrations

from fieldops import refdata
from fieldops.roles import sync_roles


def seed(apps, schema_editor):
    Policy = apps.get_model("outages", "OutagePolicy")
    Policy.objects.get_or_create(name="Default", defaults={
        "proposal_count": 5, "proposal_window_minutes": 60, "repair_target_minutes": 8 * 60,
        "warn_percent": 80, "answer_hours": 4})


class Migration(migrations.Migration):
    dependencies = [("outages", "0001_initial"), ("fieldops", "0006_reference_stamp")]

    operations = [
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
        migrations.RunPython(seed, migrations.RunPython.noop),
        # The open outages and the node register are cached per reference stamp
        # (outages.selectors): their writes renew it.
        *refdata.migration_operations("outages_outage", "outages_accessnode"),
    ]
