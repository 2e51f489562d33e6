"""The operator's selection on the order list (T14), kept in the session per tenant so it survives paging.

Either a set of ids, or "every order matching this search" (the query string) minus the ones unticked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import QuerySet
from django.http import QueryDict

from backyard.models import Tenant

from .filters import FILTER_KEYS
from .models import Order
from .selectors import TenantReference, order_search

MAX_IDS = 50_000  # beyond this, "all matching" is the way


def filters_only(params: QueryDict) -> str:
    """The filter part of a query string (no paging, sorting or page size), canonical."""
    kept = QueryDict(mutable=True)
    for key in sorted(params):
        if key in FILTER_KEYS:
            kept.setlist(key, [v for v in params.getlist(key) if v != ""])
    return kept.urlencode()


class Selection:
    def __init__(self, session: SessionBase, tenant: Tenant) -> None:
        self.session = session
        self.key = f"by_selection_{tenant.pk}"
        data: dict[str, Any] = session.get(self.key) or {}
        self.ids: set[int] = set(data.get("ids", []))
        self.query: str | None = data.get("all")
        self.excluded: set[int] = set(data.get("except", []))

    # --- state ----------------------------------------------------------------------------------------
    @property
    def all_matching(self) -> bool:
        return self.query is not None

    def contains(self, order_id: int) -> bool:
        return order_id not in self.excluded if self.all_matching else order_id in self.ids

    def is_empty(self) -> bool:
        return not self.all_matching and not self.ids

    def save(self) -> None:
        if self.all_matching:
            self.session[self.key] = {"all": self.query, "except": sorted(self.excluded)}
        elif self.ids:
            self.session[self.key] = {"ids": sorted(self.ids)[:MAX_IDS]}
        else:
            self.session.pop(self.key, None)

    # --- changes --------------------------------------------------------------------------------------
    def add(self, ids: Iterable[int]) -> None:
        if self.all_matching:
            self.excluded.difference_update(ids)
        else:
            self.ids.update(ids)

    def remove(self, ids: Iterable[int]) -> None:
        if self.all_matching:
            self.excluded.update(ids)
        else:
            self.ids.difference_update(ids)

    def toggle(self, ids: Iterable[int]) -> None:
        for order_id in ids:
            if self.contains(order_id):
                self.remove([order_id])
            else:
                self.add([order_id])

    def clear(self) -> None:
        self.ids.clear()
        self.excluded.clear()
        self.query = None

    def select_all_matching(self, params: QueryDict) -> None:
        self.ids.clear()
        self.excluded.clear()
        self.query = filters_only(params)

    # --- reading --------------------------------------------------------------------------------------
    def queryset(self, *, tenant: Tenant, reference: TenantReference) -> QuerySet[Order]:
        """The selected orders of the tenant, as one queryset (ids, or the search re-run minus exclusions)."""
        if self.all_matching:
            search = order_search(tenant=tenant, params=QueryDict(self.query or ""), reference=reference)
            qs = search.qs if search.is_valid() else Order.objects.none()
            return qs.exclude(pk__in=self.excluded) if self.excluded else qs
        return Order.objects.for_tenant(tenant).filter(pk__in=self.ids)

    def count(self, *, tenant: Tenant, reference: TenantReference, matching_count: int | None = None) -> int:
        if not self.all_matching:
            return len(self.ids)
        if matching_count is not None:
            return max(matching_count - len(self.excluded), 0)
        return self.queryset(tenant=tenant, reference=reference).count()
