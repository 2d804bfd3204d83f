"""The ledger is append-only at the database too (R53), the supervisors' permissions, and
the default policy (points and amounts per kind, editable in the admin)."""

from decimal import Decimal

from django.db import migrations

from fieldops.roles import sync_roles

GUARD = """
CREATE OR REPLACE FUNCTION assessment_entry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The assessment ledger is append-only (R53): %% refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assessment_entry_append_only BEFORE UPDATE OR DELETE ON assessment_entry
    FOR EACH ROW EXECUTE FUNCTION assessment_entry_append_only();
"""
UNGUARD = """
DROP TRIGGER IF EXISTS assessment_entry_append_only ON assessment_entry;
DROP FUNCTION IF EXISTS assessment_entry_append_only();
"""

DEFAULTS = {
    "breach_contact": (-1, "-20.00"),
    "breach_visit": (-2, "-50.00"),
    "breach_no_visit_answer": (-1, "-20.00"),
    "breach_arrival": (-1, "-20.00"),
    "breach_rework_contact": (-2, "-50.00"),
    "missed_appointment": (-2, "-50.00"),
    "second_miss": (-5, "-200.00"),
    "complaint_upheld": (-3, "-100.00"),
    "inspection_failed": (-3, "-100.00"),
    "on_time_month": (2, "100.00"),
}


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD)


def seed(apps, schema_editor):
    import datetime as dt

    Rule = apps.get_model("assessment", "AssessmentRule")
    for kind, (points, amount) in DEFAULTS.items():
        Rule.objects.get_or_create(kind=kind, effective_from=dt.date(2020, 1, 1),
                                   defaults={"points": points, "amount": Decimal(amount),
                                             "appeal_window_days": 7})


class Migration(migrations.Migration):
    dependencies = [("assessment", "0001_initial"), ("fieldops", "0004_roles_customer_merge")]

    operations = [
        migrations.RunPython(guard, unguard),
        migrations.RunPython(sync_roles, migrations.RunPython.noop),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
