from django.db import migrations

from fieldops.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [("fieldops", "0003_roles_notifications"),
                    ("workorders", "0004_customer_merge_permission")]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
