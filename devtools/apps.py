from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Development tools: the demo merchant (manage.py seed_demo) and the fake malls. Installed by the settings
    only where the package and its dependencies (Faker) are present, i.e. never in a production image."""

    name = "devtools"
    verbose_name = "Development tools"
