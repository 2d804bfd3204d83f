"""R54: a repair order attached to an outage waits for the network, not for us: its visit
clock (R34, R35) and its contact clock (R7, R7a) pause on ``attach_outage`` and run again
on ``release_outage``, as they do for missing resources (R6). The policies' versions are
bumped, so open timers follow the new rules (re-armed, their time used kept)."""

from django.db import migrations

KINDS = ("visit", "contact")


def add(apps, schema_editor):
    TimerRule = apps.get_model("sla", "TimerRule")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    touched = set()
    for rule in TimerRule.objects.filter(kind__in=KINDS).order_by("pk"):
        changed = False
        if "attach_outage" not in rule.pause_on:
            rule.pause_on = [*rule.pause_on, "attach_outage"]
            changed = True
        if "release_outage" not in rule.resume_on:
            rule.resume_on = [*rule.resume_on, "release_outage"]
            changed = True
        if changed:
            rule.save(update_fields=["pause_on", "resume_on"])
            touched.add(rule.policy_id)
    for policy in SlaPolicy.objects.filter(pk__in=touched):
        policy.version += 1
        policy.save(update_fields=["version"])


def remove(apps, schema_editor):
    TimerRule = apps.get_model("sla", "TimerRule")
    for rule in TimerRule.objects.filter(kind__in=KINDS).order_by("pk"):
        rule.pause_on = [a for a in rule.pause_on if a != "attach_outage"]
        rule.resume_on = [a for a in rule.resume_on if a != "release_outage"]
        rule.save(update_fields=["pause_on", "resume_on"])


class Migration(migrations.Migration):
    dependencies = [("sla", "0013_reopen_rework")]
    operations = [migrations.RunPython(add, remove)]
