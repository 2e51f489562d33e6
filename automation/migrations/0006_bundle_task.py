"""The built-in task 同梱候補 (bundle_candidate, issue 17) for the tenants that exist: new tenants get it from
automation.defaults. Idempotent by code; it goes after the tenant's other definitions."""

from django.db import migrations
from django.db.models import Max

CODE = "bundle_candidate"
NAME = "同梱候補"
COLOUR = "#20c997"


def add_bundle_task(apps, schema_editor):
    Tenant = apps.get_model("backyard", "Tenant")
    TaskDefinition = apps.get_model("automation", "TaskDefinition")
    for tenant_id in Tenant.objects.values_list("pk", flat=True):
        if TaskDefinition.objects.filter(tenant_id=tenant_id, code=CODE).exists():
            continue
        last = TaskDefinition.objects.filter(tenant_id=tenant_id).aggregate(last=Max("position"))["last"] or 0
        TaskDefinition.objects.create(tenant_id=tenant_id, code=CODE, name=NAME, colour=COLOUR, position=last + 1,
                                      enabled=True, auto_resolve=True,
                                      conditions={"match": "all", "items": []})


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0005_task_colour"),
        ("backyard", "0001_initial"),
        ("orders", "0015_destination_keys"),
    ]

    operations = [
        migrations.RunPython(add_bundle_task, migrations.RunPython.noop),
    ]
