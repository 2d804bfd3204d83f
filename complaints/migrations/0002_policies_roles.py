"""The default deadlines per tier (R51; editable in the admin) and the roles' complaint
permissions (fieldops.roles)."""

from django.db import migrations

from fieldops.roles import sync_roles

#: tier: (respond within, resolve within), in minutes of calendar time.
DEFAULTS = {
    "complaint": (120, 48 * 60),
    "escalated": (60, 24 * 60),
    "regulator": (30, 24 * 60),
}


def seed(apps, schema_editor):
    Policy = apps.get_model("complaints", "ComplaintPolicy")
    ladder = [
        {"percent": 80, "event": "warned", "notify": ["call_centre"]},
        {"percent": 100, "event": "breached", "notify": ["call_centre", "supervisor"]},
        {"percent": 150, "event": "escalated", "notify": ["supervisor"]},
    ]
    for tier, (response, resolution) in DEFAULTS.items():
        Policy.objects.get_or_create(tier=tier, defaults={
            "response_minutes": response, "resolution_minutes": resolution, "ladder": ladder})


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial"), ("fieldops", "0004_roles_customer_merge"),
                    ("assessment", "0002_append_only_roles_policy")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
    ]
