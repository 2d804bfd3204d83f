from django.db import migrations

from fieldops.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [("fieldops", "0002_roles"), ("notifications", "0001_initial")]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
