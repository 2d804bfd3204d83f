"""Issue 16 (R38): an order event recorded offline reaches the server after the sweep fired
ladder steps it makes untrue (a check-in at 10:02 synced at 10:40, after the 10:15 breach).
Those steps are withdrawn: a WITHDRAWN timer event names each (``withdraws``, ``round``),
the timer records when (``withdrawn_at``) and how many rounds (``withdrawals``: the round
of the ladder events written after, so a resumed timer can reach a withdrawn step again).
``one_event_per_step`` becomes (timer, round, level); a step is withdrawn once
(``one_withdrawal_per_step``, partial: only withdrawals write it)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sla', '0015_unassign'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='timerevent',
            name='one_event_per_step',
        ),
        migrations.AddField(
            model_name='timer',
            name='withdrawals',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, verbose_name='withdrawals'),
        ),
        migrations.AddField(
            model_name='timer',
            name='withdrawn_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='steps withdrawn'),
        ),
        migrations.AddField(
            model_name='timerevent',
            name='round',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, verbose_name='round'),
        ),
        migrations.AddField(
            model_name='timerevent',
            name='withdraws',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='withdrawn step'),
        ),
        migrations.AlterField(
            model_name='timerevent',
            name='kind',
            field=models.CharField(choices=[('started', 'Started'), ('paused', 'Paused'), ('resumed', 'Resumed'), ('stopped', 'Stopped'), ('cancelled', 'Cancelled'), ('rearmed', 'Re-armed (policy changed)'), ('warned', 'Warned'), ('breached', 'Breached'), ('escalated', 'Escalated'), ('withdrawn', 'Withdrawn')], max_length=10, verbose_name='event'),
        ),
        migrations.AddConstraint(
            model_name='timerevent',
            constraint=models.UniqueConstraint(fields=('timer', 'round', 'level'), name='one_event_per_step'),
        ),
        migrations.AddConstraint(
            model_name='timerevent',
            constraint=models.UniqueConstraint(condition=models.Q(('withdraws__isnull', False)), fields=('timer', 'round', 'withdraws'), name='one_withdrawal_per_step'),
        ),
    ]
