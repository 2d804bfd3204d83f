"""R52 → R31: an order reopened for rework by a failed inspection (or an upheld complaint,
R51) owes the customer the same re-contact as an unsatisfied survey answer: every policy's
``rework_contact`` rule also starts on ``reopen_rework``."""

from django.db import migrations

ACTION = "reopen_rework"


def add(apps, schema_editor):
    TimerRule = apps.get_model("sla", "TimerRule")
    for rule in TimerRule.objects.filter(kind="rework_contact"):
        if ACTION not in rule.start_on:
            rule.start_on = [*rule.start_on, ACTION]
            rule.save(update_fields=["start_on"])


def remove(apps, schema_editor):
    TimerRule = apps.get_model("sla", "TimerRule")
    for rule in TimerRule.objects.filter(kind="rework_contact"):
        if ACTION in rule.start_on:
            rule.start_on = [name for name in rule.start_on if name != ACTION]
            rule.save(update_fields=["start_on"])


class Migration(migrations.Migration):

    dependencies = [
        ("sla", "0012_exemption_roles"),
        ("workorders", "0011_reopen_rework"),
    ]

    operations = [migrations.RunPython(add, remove)]
