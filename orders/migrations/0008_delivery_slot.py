"""Issue 10 items 10 and 11: the carriers' delivery slot beside the slot text, and phones in domestic form.

- `delivery_slot` (orders.slots.DeliverySlot) is added and filled from each order's slot text with the same
  mapping every writer uses from now on; a text no carrier's slot matches leaves it "none" (automation's
  built-in task 配達時間帯を確認, migration automation 0004, asks about those orders at the next run).
  `delivery_time_slot` keeps the text as the mall wrote it.
- Phones stored in international form (+81 …, as Shopify sends them) are rewritten in their domestic form
  (japan.phones), each with a field_changed event by the system, a new version and the search column
  rebuilt, so that a search for 090-… finds them and carrier files print them as carriers expect.
"""

from django.db import migrations, models
from django.db.models import F, Q

from japan.phones import normalize_phone
from orders.search import search_text
from orders.slots import DeliverySlot, slot_value

# orders.services.SEARCH_FIELDS as of this migration
SEARCH_FIELDS = (
    "external_id", "orderer_name", "orderer_kana", "orderer_email", "orderer_phone",
    "dest_name", "dest_kana", "dest_company", "dest_phone",
)
PHONE_FIELDS = ("orderer_phone", "dest_phone")
CHUNK = 2000


def drop_task_triggers_on_sqlite(apps, schema_editor):
    """SQLite rebuilds orders_order for the new column, and automation's order-task triggers (automation 0003,
    automation/db_triggers.py) name that table: out of the way first. automation's post_migrate puts them back
    at the end of the migrate run, as it does after every migrate."""
    if schema_editor.connection.vendor == "sqlite":
        for name in ("automation_ordertask_status_ins", "automation_ordertask_follow"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def fill_delivery_slot(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    texts = Order.objects.exclude(delivery_time_slot="").values_list("pk", "delivery_time_slot").order_by("pk")
    by_slot: dict[str, list[int]] = {}
    for pk, text in texts.iterator(chunk_size=CHUNK):
        slot = slot_value(text)
        if slot:
            by_slot.setdefault(slot, []).append(pk)
    for slot, ids in by_slot.items():
        for start in range(0, len(ids), CHUNK):
            Order.objects.filter(pk__in=ids[start:start + CHUNK]).update(delivery_slot=slot)


def normalise_phones(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderLine = apps.get_model("orders", "OrderLine")
    OrderEvent = apps.get_model("orders", "OrderEvent")
    international = Q()
    for name in PHONE_FIELDS:
        for start in ("+", "＋", "(+", "（＋", "（+"):
            international |= Q(**{f"{name}__startswith": start})
    for order in Order.objects.filter(international).order_by("pk").iterator(chunk_size=CHUNK):
        changes = {}
        for name in PHONE_FIELDS:
            old = getattr(order, name)
            new = normalize_phone(old)
            if new != old:
                changes[name] = (old, new)
                setattr(order, name, new)
        if not changes:
            continue
        skus = OrderLine.objects.filter(order_id=order.pk).values_list("sku", flat=True)
        text = search_text([*(getattr(order, name) for name in SEARCH_FIELDS), *skus])
        Order.objects.filter(pk=order.pk).update(search_text=text, version=F("version") + 1,
                                                 **{name: new for name, (_old, new) in changes.items()})
        OrderEvent.objects.bulk_create([
            OrderEvent(tenant_id=order.tenant_id, order_id=order.pk, actor_kind="system", actor_name="system",
                       type="field_changed", data={"field": name, "old": old, "new": new})
            for name, (old, new) in changes.items()
        ])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_personal_data_erasure"),
    ]

    operations = [
        migrations.RunPython(drop_task_triggers_on_sqlite, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="delivery_time_slot",
            field=models.CharField(blank=True, max_length=30, verbose_name="time slot as written"),
        ),
        migrations.AddField(
            model_name="order",
            name="delivery_slot",
            field=models.CharField(blank=True, choices=DeliverySlot.choices, default="", max_length=5,
                                   verbose_name="delivery time slot"),
        ),
        migrations.RunPython(fill_delivery_slot, migrations.RunPython.noop),
        migrations.RunPython(normalise_phones, migrations.RunPython.noop),
    ]
