"""Areas are reference data: a write renews the reference stamp (``fieldops.refdata``)."""

from django.db import migrations

from fieldops import refdata


class Migration(migrations.Migration):

    dependencies = [
        ('fieldops', '0006_reference_stamp'),
        ('technicians', '0005_area_dispatchers'),
    ]

    operations = refdata.migration_operations("technicians_area")
