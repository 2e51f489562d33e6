from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('shops', '0004_first_poll_from'),
    ]

    operations = [
        migrations.AddField(
            model_name='csvupload',
            name='preview',
            field=models.JSONField(blank=True, default=dict, verbose_name='preview'),
        ),
    ]
