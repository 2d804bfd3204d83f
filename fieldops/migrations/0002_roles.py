"""The dispatcher, technician, call-centre and supervisor groups (see fieldops/roles.py)."""

from django.db import migrations

from fieldops.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("fieldops", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("workorders", "0001_initial"),
        ("technicians", "0002_seed_skills"),
        ("appointments", "0001_initial"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
