"""Drop the index of ``sla_timer.rule_id``: a handful of rules share every timer, so no
query uses it, and every sweep update rewrites it (``next_check_at`` moves: never HOT)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0005_timer_fewer_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='timer',
            name='rule',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='timers', to='sla.timerrule', verbose_name='rule'),
        ),
    ]
