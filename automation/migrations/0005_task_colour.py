"""The task definition's colour is checked as #RRGGBB, like the colours of statuses and labels (issue 11,
item 11): it is written into the order screens' style attributes. Rows saved before keep their value; the
admin asks for a #RRGGBB colour the next time one is edited."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0004_slot_task"),
    ]

    operations = [
        migrations.AlterField(
            model_name="taskdefinition",
            name="colour",
            field=models.CharField(default="#fd7e14", max_length=7, validators=[
                django.core.validators.RegexValidator("^#[0-9a-fA-F]{6}$", "Enter a colour as #RRGGBB.")],
                verbose_name="colour"),
        ),
    ]
