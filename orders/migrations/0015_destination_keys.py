"""Destination keys for bundle candidates (issue 17): two columns, filled for the orders there are, then the
partial indexes over the open orders that have one."""

from django.db import migrations, models


def fill_keys(apps, schema_editor):
    # The keys as orders/destination.py computes them today (raw SQL: no model method is needed).
    from orders.destination import destination_keys_fill

    destination_keys_fill()


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0014_push_warehouse_events'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='dest_key_name',
            field=models.CharField(blank=True, default='', editable=False, max_length=16, verbose_name='destination key (name)'),
        ),
        migrations.AddField(
            model_name='order',
            name='dest_key_phone',
            field=models.CharField(blank=True, default='', editable=False, max_length=16, verbose_name='destination key (phone)'),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(models.Q(('stage__in', ['shipped', 'completed', 'cancelled']), _negated=True), models.Q(('dest_key_name', ''), _negated=True)), fields=['tenant', 'dest_key_name', 'shop'], include=('id', 'status'), name='order_open_dest_key_name'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(models.Q(('stage__in', ['shipped', 'completed', 'cancelled']), _negated=True), models.Q(('dest_key_phone', ''), _negated=True)), fields=['tenant', 'dest_key_phone', 'shop'], include=('id', 'status'), name='order_open_dest_key_phone'),
        ),
    ]
