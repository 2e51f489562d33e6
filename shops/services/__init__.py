"""Every write of the shops app with business meaning: shops and their credentials, the import pipeline,
polling, pruning old runs. Importing from here is the public way in; the modules hold the reasons."""

from .connectors import (
    connector_build,
    connector_class,
    credential_fields,
    credential_labels,
    credentials_clean,
    has_connector,
)
from .importer import BatchOutcome, Mappings, import_orders, mall_changed_definition, mall_state_erase
from .polling import (
    PollOutcome,
    fetch_latest,
    import_page,
    import_run_finish,
    import_run_skip,
    import_run_start,
    poll_shop,
    shops_due_for_poll,
)
from .runs import import_runs_prune
from .shops import (
    mappings_seed,
    shop_create,
    shop_credentials_renewed,
    shop_credentials_rotate,
    shop_credentials_set,
    shop_setup,
    shop_sync,
    shop_syncs_ensure,
)

__all__ = [
    "BatchOutcome",
    "Mappings",
    "PollOutcome",
    "connector_build",
    "connector_class",
    "credential_fields",
    "credential_labels",
    "credentials_clean",
    "fetch_latest",
    "has_connector",
    "import_orders",
    "import_page",
    "import_run_finish",
    "import_run_skip",
    "import_run_start",
    "import_runs_prune",
    "mall_changed_definition",
    "mall_state_erase",
    "mappings_seed",
    "poll_shop",
    "shop_create",
    "shop_credentials_renewed",
    "shop_credentials_rotate",
    "shop_credentials_set",
    "shop_setup",
    "shop_sync",
    "shop_syncs_ensure",
    "shops_due_for_poll",
]
