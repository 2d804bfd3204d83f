from django.db import migrations

from fieldops.roles import sync_roles


class Migration(migrations.Migration):
    """Supervisors edit the checklist and test-range policies (R43, R44, R48, R49)."""

    dependencies = [
        ("visits", "0002_seed_policies"),
        ("fieldops", "0004_roles_customer_merge"),
        ("api", "0002_roles"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
