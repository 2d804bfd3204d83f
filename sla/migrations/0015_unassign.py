"""R4, R7: a dispatcher may take an order off its technician (``unassign``, back to the
queue). The contact promise was the technician's: it is cancelled with the assignment, and
the next dispatch starts it again. Every contact rule (the defaults and any an admin added)
gets ``unassign`` in its ``cancel_on``."""

from django.db import migrations


def add(apps, schema_editor):
    TimerRule = apps.get_model("sla", "TimerRule")
    for rule in TimerRule.objects.filter(kind="contact"):
        if "unassign" not in rule.cancel_on:
            rule.cancel_on = [*rule.cancel_on, "unassign"]
            rule.save(update_fields=["cancel_on"])


def remove(apps, schema_editor):
    TimerRule = apps.get_model("sla", "TimerRule")
    for rule in TimerRule.objects.filter(kind="contact"):
        if "unassign" in rule.cancel_on:
            rule.cancel_on = [a for a in rule.cancel_on if a != "unassign"]
            rule.save(update_fields=["cancel_on"])


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0014_outage_pauses"),
        ("workorders", "0012_unassign"),
    ]
    operations = [migrations.RunPython(add, remove)]
