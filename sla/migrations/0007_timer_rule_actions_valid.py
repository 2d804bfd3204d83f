"""Every existing timer rule names only order actions (R38): a rule with a typo in its
start/stop/pause/resume/cancel actions would leave a promise untimed. Names differing only
in case or surrounding spaces are corrected; any other unknown name stops the migration
with the policy, rule and field named, to be fixed in the admin (or the database) first.

The vocabulary is frozen here as it was when this migration was written."""

from django.db import migrations

ACTIONS = frozenset({
    "create", "merge_customer", "dispatch", "reassign", "accept", "confirm_resources",
    "report_no_resources", "resolve_remotely", "log_contact", "contact", "schedule",
    "reschedule", "request_change", "customer_confirmed", "appointment_missed",
    "customer_refused", "park", "resume", "confirm_kit", "depart", "check_in", "nobody_home",
    "make_abnormal", "return_from_abnormal", "close_abnormal", "add_photo", "record_consent",
    "cant_finish", "save_report", "send_sign_off_code", "sign_off", "complete",
    "follow_up_logged", "follow_up_answered", "start_survey", "callback_opened",
    "callback_not_reached", "close_satisfied", "start_rework", "reassign_rework",
    "resolve_rework", "cancel",
})
FIELDS = ("start_on", "stop_on", "pause_on", "resume_on", "cancel_on")


def check_rules(apps, schema_editor):
    TimerRule = apps.get_model("sla", "TimerRule")
    problems = []
    for rule in TimerRule.objects.select_related("policy").order_by("pk"):
        changed = []
        for field in FIELDS:
            names = getattr(rule, field)
            if not isinstance(names, list):
                problems.append(f"policy {rule.policy.name!r}, rule {rule.kind} (id {rule.pk}): "
                                f"{field} is not a list")
                continue
            fixed = [n.strip().lower() if isinstance(n, str) else n for n in names]
            bad = [repr(n) for n in fixed if n not in ACTIONS]
            if bad:
                problems.append(f"policy {rule.policy.name!r}, rule {rule.kind} (id {rule.pk}): "
                                f"{field} has unknown actions {', '.join(bad)}")
            elif fixed != names:
                setattr(rule, field, fixed)
                changed.append(field)
        if changed:
            rule.save(update_fields=changed)
    if problems:
        raise RuntimeError("Timer rules name actions the order lifecycle does not have; fix "
                           "them and migrate again:\n  " + "\n  ".join(problems))


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0006_timer_rule_unindexed'),
    ]

    operations = [
        migrations.RunPython(check_rules, migrations.RunPython.noop),
    ]
