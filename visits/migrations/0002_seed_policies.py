"""Sensible starting policies (admin-editable afterwards): which checklist steps each kind
of visit requires (R43, R44, R48, R49), and the test ranges per access type (R48)."""

from decimal import Decimal

from django.db import migrations

# kind, access type, {step: requirement}, explain the cause, always at height
CHECKLISTS = [
    ("", "", {"tests": "optional", "equipment": "optional", "materials": "optional",
              "charges": "optional"}, False, False),
    ("install", "", {"tests": "required", "equipment": "required",
                     "materials": "optional", "charges": "optional"}, False, False),
    ("move", "", {"tests": "required", "equipment": "optional", "materials": "optional",
                  "charges": "optional"}, False, False),
    ("repair", "", {"tests": "required", "equipment": "optional", "materials": "optional",
                    "charges": "optional"}, True, False),
]
ALWAYS = {"safety": "required", "consent": "optional", "work": "required",
          "tryout": "required", "cleanup": "required"}

# access type: optical range (weakest, strongest) dBm, plan down/up Mbit/s
RANGES = [
    ("", None, None, 100, 20),
    ("ftth", Decimal("-27.0"), Decimal("-8.0"), 500, 50),
    ("fttb", None, None, 200, 20),
    ("lan", None, None, 100, 20),
    ("xdsl", None, None, 20, 1),
]


def seed(apps, schema_editor):
    ChecklistPolicy = apps.get_model("visits", "ChecklistPolicy")
    TestRangePolicy = apps.get_model("visits", "TestRangePolicy")
    for kind, access, steps, cause, height in CHECKLISTS:
        ChecklistPolicy.objects.update_or_create(
            kind=kind, access_type=access,
            defaults={**ALWAYS, **steps, "explain_cause": cause, "work_at_height": height})
    for access, weakest, strongest, down, up in RANGES:
        TestRangePolicy.objects.update_or_create(
            access_type=access,
            defaults={"rx_min_dbm": weakest, "rx_max_dbm": strongest, "plan_down_mbps": down,
                      "plan_up_mbps": up, "min_speed_percent": 90})


class Migration(migrations.Migration):

    dependencies = [("visits", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
