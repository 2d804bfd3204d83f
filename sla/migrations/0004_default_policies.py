"""Default SLA policies, as in DOMAIN.md ("Promises and timers"). Admins edit them."""

from django.db import migrations

LADDER = [
    {"percent": 80, "event": "warned", "notify": ["technician"]},
    {"percent": 100, "event": "breached", "notify": ["dispatcher", "supervisor"]},
    {"percent": 150, "event": "escalated", "notify": ["supervisor"]},
    {"percent": 200, "event": "escalated", "notify": ["supervisor"]},
]
#: R35: VIP orders warn at half time and go straight to the supervisor.
VIP_LADDER = [
    {"percent": 50, "event": "warned", "notify": ["technician", "dispatcher"]},
    {"percent": 100, "event": "breached", "notify": ["dispatcher", "supervisor"]},
    {"percent": 125, "event": "escalated", "notify": ["supervisor"]},
]
#: R14: the arrival window is short; warn shortly before the booked start.
ARRIVAL_LADDER = [
    {"percent": 95, "event": "warned", "notify": ["technician"]},
    {"percent": 100, "event": "breached", "notify": ["dispatcher", "supervisor"]},
]
CANCEL = ["cancel", "resolve_remotely", "close_abnormal"]


def contact(minutes, rule_id, ladder=LADDER):
    return {"kind": "contact", "rule_id": rule_id, "target_minutes": minutes,
            "start_on": ["dispatch", "reassign"], "stop_on": ["log_contact", "contact"],
            "pause_on": ["report_no_resources", "park"], "resume_on": ["resume", "dispatch"],
            "cancel_on": CANCEL, "ladder": ladder}


def visit(calendar=None, ladder=LADDER):
    return {"kind": "visit", "rule_id": "R35" if calendar else "R34", "target_minutes": 24 * 60,
            "start_on": ["create"], "stop_on": ["check_in", "nobody_home"],
            "pause_on": ["park", "report_no_resources"], "resume_on": ["resume", "dispatch"],
            "cancel_on": CANCEL, "calendar": calendar, "ladder": ladder}


ARRIVAL = {"kind": "arrival", "rule_id": "R14", "target_minutes": 10,
           "anchor": "appointment_start", "start_on": ["schedule", "reschedule"],
           "stop_on": ["check_in", "nobody_home"],
           "cancel_on": [*CANCEL, "park", "reassign"], "ladder": ARRIVAL_LADDER}
REWORK = {"kind": "rework_contact", "rule_id": "R31", "target_minutes": 24 * 60,
          "start_on": ["start_rework", "reassign_rework"], "stop_on": ["log_contact"],
          "cancel_on": ["cancel", "close_satisfied"], "ladder": LADDER}


def answer(calendar):
    return {"kind": "no_visit_answer", "rule_id": "R36", "target_minutes": 4 * 60,
            "start_on": ["create"], "stop_on": ["resolve_remotely", "dispatch"],
            "cancel_on": ["cancel"], "calendar": calendar, "ladder": LADDER}


def create(apps, schema_editor):
    Policy = apps.get_model("sla", "SlaPolicy")
    Rule = apps.get_model("sla", "TimerRule")
    Calendar = apps.get_model("sla", "BusinessCalendar")
    office = Calendar.objects.filter(name="CN standard").first()
    always = Calendar.objects.filter(name="24x7").first()
    policies = [
        ({"name": "Standard", }, [contact(60, "R7"), ARRIVAL, REWORK]),
        ({"name": "Repair", "kind": "repair"},
         [contact(30, "R7a"), visit(), answer(office), ARRIVAL, REWORK]),
        ({"name": "VIP", "customer_class": "vip"},
         [contact(30, "R35", VIP_LADDER), ARRIVAL, REWORK]),
        ({"name": "VIP repair", "kind": "repair", "customer_class": "vip"},
         [contact(30, "R35", VIP_LADDER), visit(always, VIP_LADDER), answer(office), ARRIVAL,
          REWORK]),
    ]
    for fields, rules in policies:
        policy, _ = Policy.objects.get_or_create(name=fields["name"], defaults=fields)
        for rule in rules:
            Rule.objects.get_or_create(policy=policy, kind=rule["kind"], defaults=rule)


class Migration(migrations.Migration):
    dependencies = [("sla", "0003_timers")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
