"""Two processes allocating the same last units at once on PostgreSQL: exactly one order gets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from inventory.models import Allocation, Product
from tests.factories import make_order

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_two_processes_checking_at_once_never_oversell(tenant, require_postgres):
    Product.objects.create(tenant=tenant, sku="LAST", name="最後の1点", on_hand=2)
    first, second = (
        make_order(tenant, external_id=f"C-{n}", lines=[{"sku": "LAST", "name": "x", "unit_price": 1, "quantity": 2}])
        for n in (1, 2)
    )
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONPATH": str(ROOT),
    }

    def start(order_id: int, hold: float) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "tests.inventory.allocate_process", str(tenant.pk), str(order_id), str(hold)]
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    slow = start(first.pk, 8.0)  # long enough for the second process to start and ask while it holds them
    assert slow.stdout is not None
    assert slow.stdout.readline().strip() == "locked", slow.stderr.read() if slow.stderr else ""
    fast = start(second.pk, 0.0)  # asks for the same units while the first still holds them
    out_slow, err_slow = slow.communicate(timeout=90)
    out_fast, err_fast = fast.communicate(timeout=90)
    assert slow.returncode == 0, err_slow[-3000:]
    assert fast.returncode == 0, err_fast[-3000:]
    a, b = json.loads(out_slow.strip().splitlines()[-1]), json.loads(out_fast.strip().splitlines()[-1])

    assert (a["full"], a["short"]) == ([first.pk], [])
    assert (b["full"], b["short"]) == ([], [second.pk])  # it waited for the lock, then found nothing left
    # Without the products' lock the second would have read the stock before the first committed, allocated
    # the same 2 units and written allocated = 2 over the first's: two orders holding 2 units of 2.
    product = Product.objects.get(sku="LAST")
    assert (product.on_hand, product.allocated) == (2, 2)
    assert Allocation.objects.count() == 1
