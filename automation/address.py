"""The address check (B6) over the tenant's orders: each destination compared with Japan Post's data by
`japan.address.check_address` (where the comparison, its normalisation and its leniencies are described)."""

from __future__ import annotations

from collections.abc import Iterable

from backyard.models import Tenant
from japan.address import AddressCheck, check_address
from orders.models import Order

CHUNK = 1000


def check_orders(tenant: Tenant, order_ids: Iterable[int]) -> dict[int, AddressCheck]:
    """The address check of the destinations of the tenant's orders among `order_ids` (others are ignored).

    Reads only the six columns it needs, a chunk of ids at a time; lookups and checks are cached.
    """
    ids = list(order_ids)
    results: dict[int, AddressCheck] = {}
    columns = ("pk", "dest_postal_code", "dest_prefecture", "dest_city", "dest_address1", "dest_address2")
    for start in range(0, len(ids), CHUNK):
        rows = Order.objects.for_tenant(tenant).filter(pk__in=ids[start : start + CHUNK]).values_list(*columns)
        for pk, postal_code, prefecture, city, address1, address2 in rows:
            results[pk] = check_address(
                postal_code=postal_code, prefecture=prefecture, city=city, address1=address1, address2=address2
            )
    return results
