"""The two calendars every installation starts with (R37; "24x7" for R35).

"CN standard": Monday to Friday 08:30-12:00 and 13:30-17:30, China's public holidays and
official swapped working weekends. "24x7": every moment counts, no holidays (VIP 24-hour
repair, nights included). Re-running is harmless: existing calendars are left alone.
"""

import datetime as dt
import uuid

from django.db import migrations
from django.utils import timezone

MORNING = (dt.time(8, 30), dt.time(12, 0))
AFTERNOON = (dt.time(13, 30), dt.time(17, 30))
WHOLE_DAY = (dt.time(0, 0), dt.time(0, 0))  # an end of 00:00 is the midnight ending the day

CALENDARS = [
    ("CN standard", "CN", "中国标准工作日：周一至周五 08:30-12:00、13:30-17:30，"
     "法定节假日休息，调休上班日上班。",
     {weekday: [MORNING, AFTERNOON] for weekday in range(5)}),
    ("24x7", "", "全天候：每天 00:00-24:00，节假日不休（VIP 24 小时修复，R35）。",
     {weekday: [WHOLE_DAY] for weekday in range(7)}),
]


def create(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    WorkingPeriod = apps.get_model("sla", "WorkingPeriod")
    for name, country, description, weekly in CALENDARS:
        calendar, created = BusinessCalendar.objects.get_or_create(
            name=name, defaults={"time_zone": "Asia/Shanghai", "country_holidays": country,
                                 "description": description, "revision": uuid.uuid4(),
                                 "updated_at": timezone.now()})
        if created:
            WorkingPeriod.objects.bulk_create(
                WorkingPeriod(calendar=calendar, weekday=weekday, start=start, end=end)
                for weekday, periods in weekly.items() for start, end in periods)


def remove(apps, schema_editor):
    apps.get_model("sla", "BusinessCalendar").objects.filter(
        name__in=[name for name, *_ in CALENDARS]).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
