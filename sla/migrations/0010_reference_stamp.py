"""Calendars and policies are reference data: a write renews the reference stamp
(``fieldops.refdata``)."""

from django.db import migrations

from fieldops import refdata


class Migration(migrations.Migration):

    dependencies = [
        ('fieldops', '0006_reference_stamp'),
        ('sla', '0009_fewer_insert_indexes'),
    ]

    operations = refdata.migration_operations(
        "sla_businesscalendar", "sla_workingperiod", "sla_calendaroverride", "sla_slapolicy",
        "sla_timerrule")
