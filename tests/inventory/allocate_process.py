"""Run by tests/inventory/test_concurrency.py in a process of its own: one stock check of one order, held open
for a while before it commits, printing the outcome as JSON."""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backyard.settings")


def main() -> None:
    import django

    django.setup()
    from django.db import transaction

    from backyard.models import Tenant
    from inventory.services.allocation import stock_check
    from orders.events import Actor

    tenant_id, order_id, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    started = time.monotonic()
    with transaction.atomic():
        result = stock_check(tenant=Tenant.objects.get(pk=tenant_id), order_ids=[order_id], actor=Actor.system("test"))
        sys.stdout.write("locked\n")  # the products are locked until this transaction ends
        sys.stdout.flush()
        time.sleep(hold)  # keep them locked, as a slow check would
    sys.stdout.write(
        json.dumps({"full": result.full, "short": result.short, "seconds": time.monotonic() - started}) + "\n"
    )


if __name__ == "__main__":
    main()
