from django.db import migrations

from fieldops.roles import sync_roles


class Migration(migrations.Migration):
    """The reporting role and the follow-up permissions (R28) of the call-centre."""

    dependencies = [
        ("api", "0001_initial"),
        ("surveys", "0001_initial"),
        ("fieldops", "0003_roles_notifications"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
