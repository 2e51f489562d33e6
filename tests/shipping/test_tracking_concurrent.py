"""The same issued-data file applied twice at once (two operators, or a double click reaching two web
workers), on two real PostgreSQL connections: the second waits for the first's locks on the orders, makes its
plan again and records nothing. Before the orders were locked, the second failed on the unique tracking number
(a 500) or, with another number for the same order, recorded it twice."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from backyard.csvtext import decode
from orders.constants import EventType
from orders.models import OrderEvent
from shipping.models import Shipment, WaybillFormat, management_number_for
from shipping.services.tracking import issued_rows, mapping_for, tracking_apply

from .test_tracking import ACTOR, b2_issued, exported

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_applies_of_one_file_at_once_record_it_once(require_postgres, tenant):
    orders = exported(tenant, n=5)
    data = b2_issued([(management_number_for(o.pk), f"5{n:011d}", "") for n, o in enumerate(orders)])
    rows = issued_rows(decode(data), WaybillFormat.B2CLOUD, mapping_for(tenant, WaybillFormat.B2CLOUD))
    first_has_locks, second_started = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                outcomes["first"] = len(tracking_apply(tenant=tenant, fmt="b2cloud", rows=rows, actor=ACTOR).new)
                first_has_locks.set()
                second_started.wait(10)  # hold the locks while the second one asks for them
                threading.Event().wait(0.5)
        finally:
            connection.close()

    def second() -> None:
        try:
            first_has_locks.wait(10)
            second_started.set()
            outcomes["second"] = len(tracking_apply(tenant=tenant, fmt="b2cloud", rows=rows, actor=ACTOR).new)
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            outcomes["second"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {"first": 5, "second": 0}
    assert Shipment.objects.for_tenant(tenant).count() == 5
    assert OrderEvent.objects.for_tenant(tenant).filter(type=EventType.TRACKING_REGISTERED).count() == 5
