"""R50: dispatchers declare force majeure, supervisors decide (see fieldops/roles.py)."""

from django.db import migrations

from fieldops.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0011_exemptions"),
        ("fieldops", "0004_roles_customer_merge"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
