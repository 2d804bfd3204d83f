from django.db import migrations

from fieldops.roles import sync_roles


class Migration(migrations.Migration):
    """The stock register's permissions (R45, R46): everyone who reads orders reads it;
    dispatchers allow a device from another van and restock vans."""

    dependencies = [
        ("inventory", "0001_initial"),
        ("fieldops", "0004_roles_customer_merge"),
        ("api", "0002_roles"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
