"""The skills dispatch matches against: work kinds, services and access types (R4, R21)."""

from django.db import migrations

SKILLS = [
    ("install", "装机 Install", "kind"),
    ("move", "移机 Move", "kind"),
    ("repair", "修障 Repair", "kind"),
    ("broadband", "宽带 Broadband", "service"),
    ("fixed_line", "固话 Fixed line", "service"),
    ("iptv", "IPTV", "service"),
    ("ftth", "FTTH", "access"),
    ("fttb", "FTTB", "access"),
    ("lan", "LAN", "access"),
    ("xdsl", "xDSL", "access"),
]


def seed(apps, schema_editor):
    Skill = apps.get_model("technicians", "Skill")
    for code, name, category in SKILLS:
        Skill.objects.update_or_create(code=code, defaults={"name": name, "category": category})


class Migration(migrations.Migration):
    dependencies = [("technicians", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
