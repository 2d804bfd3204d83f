"""Drop two indexes of ``sla_timer`` that the unique (order, kind, cycle) index already
serves: every sweep update rewrites each index of the row (it moves ``next_check_at``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0004_default_policies'),
        ('workorders', '0002_visit_records'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='timer',
            name='timer_order_kind',
        ),
        migrations.AlterField(
            model_name='timer',
            name='order',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='timers', to='workorders.workorder', verbose_name='work order'),
        ),
    ]
