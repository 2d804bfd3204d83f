"""One index fewer written by every timer event: the unique (timer, level) index covers all
events (NULL levels are distinct, so only ladder steps are limited, as before) and serves
the lookups by timer, so ``timer_id`` loses its own index."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0008_arrival_anchor_label'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='timerevent',
            name='one_event_per_step',
        ),
        migrations.AlterField(
            model_name='timerevent',
            name='timer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='sla.timer', verbose_name='timer'),
        ),
        migrations.AddConstraint(
            model_name='timerevent',
            constraint=models.UniqueConstraint(fields=('timer', 'level'), name='one_event_per_step'),
        ),
    ]
