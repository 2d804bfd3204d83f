"""Fewer indexes written by every outbox insert (an SLA breach storm writes two rows per
breach): no ``varchar_pattern_ops`` copies of ``kind``, ``dedupe_key`` and ``gateway_id``
(no query looks for a prefix), no index of ``recipient_id`` alone (``notification_inbox``
starts with it), and the inbox and gateway-id indexes hold only rows with a recipient /
with a gateway id."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0005_web_push'),
        ('workorders', '0009_phone_numbers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='notification',
            name='notification_inbox',
        ),
        migrations.AlterField(
            model_name='notification',
            name='dedupe_key',
            field=models.CharField(blank=True, max_length=200, null=True, verbose_name='dedupe key'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='gateway_id',
            field=models.CharField(blank=True, db_default='', default='', max_length=64, verbose_name='gateway id'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(max_length=64, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='notification',
            name='recipient',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL, verbose_name='recipient'),
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(condition=models.Q(('recipient__isnull', False)), fields=['recipient', 'channel', 'read_at'], name='notification_inbox'),
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(fields=['kind'], name='notification_kind'),
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(condition=models.Q(('gateway_id', ''), _negated=True), fields=['gateway_id'], name='notification_gateway'),
        ),
        migrations.AddConstraint(
            model_name='notification',
            constraint=models.UniqueConstraint(fields=('dedupe_key',), name='notification_dedupe_key'),
        ),
    ]
