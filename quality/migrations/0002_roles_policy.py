"""Inspectors and supervisors work the inspection list (R52; see fieldops/roles.py), and
the default inspection policy (every area without its own)."""

from django.db import migrations

from fieldops.roles import sync_roles

CHECKLIST = [
    "The work in the report was really done at the address",
    "The installation is tidy and labelled",
    "The photos show this order's site and equipment",
    "The measured speed and optical power match the report",
    "The customer confirms the visit, the try-out and the signature",
    "The site was left clean",
]


def seed(apps, schema_editor):
    Policy = apps.get_model("quality", "InspectionPolicy")
    if not Policy.objects.filter(area__isnull=True).exists():
        Policy.objects.create(area=None, checklist=CHECKLIST)


class Migration(migrations.Migration):

    dependencies = [
        ("quality", "0001_initial"),
        ("workorders", "0011_reopen_rework"),
        ("sla", "0013_reopen_rework"),
        ("assessment", "0002_append_only_roles_policy"),
        ("visits", "0003_roles"),
        ("inventory", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
