"""The operator's selection on the order list (T14), kept in the session per tenant so it survives paging.

Either a set of ids, or "every order matching this search" (the query string) minus the ones unticked.
A bulk action clears it when it has run, and the selection remembers that it did (the bar says so) until
the operator selects again. Before an action runs, `outside_list` tells how many selected orders the list
the operator is looking at does not show (selected on another status or search), so the action can ask.

"All matching" belongs to the list it was chosen on: another list ticks only its rows that match it
(`checked_on`), and a change made there first turns the selection into the ids it stands for
(`as_ids`), so that ticking one more order adds that one order.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import Count, Q, QuerySet
from django.http import QueryDict

from backyard.models import Tenant

from .filters import FILTER_KEYS
from .models import Order
from .selectors import TenantReference, order_search

MAX_IDS = 50_000  # beyond this, "all matching" is the way


class TooMany(Exception):
    """An "all matching" selection too large to be turned into ids."""


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
        self.tenant = tenant
        self.key = f"by_selection_{tenant.pk}"
        data: dict[str, Any] = session.get(self.key) or {}
        self.ids: set[int] = set(data.get("ids", []))
        self.query: str | None = data.get("all")
        self.excluded: set[int] = set(data.get("except", []))
        self.cleared_by_action: bool = bool(data.get("cleared"))

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
        elif self.cleared_by_action:
            self.session[self.key] = {"cleared": True}
        else:
            self.session.pop(self.key, None)

    # --- changes --------------------------------------------------------------------------------------
    # Ids come from the browser: only the tenant's orders are kept (`_own`, one query when ids are added or
    # unticked from "all matching"), so that `count` can be the length of a set, with no query on the list.
    def _own(self, ids: Iterable[int]) -> set[int]:
        wanted = set(ids)
        if not wanted:
            return wanted
        return set(Order.objects.for_tenant(self.tenant).filter(pk__in=wanted).values_list("pk", flat=True))

    def add(self, ids: Iterable[int]) -> None:
        self._tick(set(ids) if self.all_matching else self._own(ids))

    def remove(self, ids: Iterable[int]) -> None:
        self._untick(self._own(ids) if self.all_matching else set(ids))

    def toggle(self, ids: Iterable[int]) -> None:
        own = self._own(ids)
        ticked = {order_id for order_id in own if self.contains(order_id)}
        self._untick(ticked)
        self._tick(own - ticked)

    def _tick(self, ids: set[int]) -> None:
        if ids:
            self.cleared_by_action = False
        if self.all_matching:
            self.excluded.difference_update(ids)
        else:
            self.ids.update(ids)

    def _untick(self, ids: set[int]) -> None:
        if ids:
            self.cleared_by_action = False
        if self.all_matching:
            self.excluded.update(ids)
        else:
            self.ids.difference_update(ids)

    def clear(self) -> None:
        self.ids.clear()
        self.excluded.clear()
        self.query = None
        self.cleared_by_action = False

    def cleared_after_action(self) -> None:
        """A bulk action ran on the selection: nothing stays selected, and the bar says why (saved)."""
        self.clear()
        self.cleared_by_action = True
        self.save()

    def as_ids(self, *, tenant: Tenant, reference: TenantReference) -> None:
        """Turn "all matching" into the ids it stands for now (one query); TooMany beyond MAX_IDS."""
        if not self.all_matching:
            return
        ids = list(
            self.queryset(tenant=tenant, reference=reference).order_by().values_list("pk", flat=True)[: MAX_IDS + 1]
        )
        if len(ids) > MAX_IDS:
            raise TooMany
        self.query = None
        self.excluded.clear()
        self.ids = set(ids)

    def select_all_matching(self, params: QueryDict) -> None:
        self.cleared_by_action = False
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

    def checked_on(self, *, query: str, tenant: Tenant, reference: TenantReference) -> Container[int]:
        """Which orders the list with the filters `query` shows ticked: the ids; for "all matching" this very
        list, all but the unticked ones; for "all matching" another list, those of the page's rows that match
        it (one query, when the table renders the page: `PageTicks`)."""
        if not self.all_matching:
            return frozenset(self.ids)
        if self.query == filters_only(QueryDict(query)):
            return _AllBut(self.excluded)
        return PageTicks(self.queryset(tenant=tenant, reference=reference))

    def outside_list(self, *, tenant: Tenant, reference: TenantReference, query: str) -> tuple[int, int]:
        """How many orders are selected, and how many of those the list with the filters `query` does not show
        (they were selected on another status or search): one COUNT query, none when the selection is
        "all matching" that very list (then nothing is outside; the first number is not counted: 0)."""
        if self.is_empty() or (self.all_matching and self.query == filters_only(QueryDict(query))):
            return 0, 0
        selected = self.queryset(tenant=tenant, reference=reference)
        listed = _listed(tenant, reference, query)
        if listed is None:  # the list shows nothing: every selected order is outside it
            count = selected.count()
            return count, count
        counts = selected.aggregate(selected=Count("pk"), shown=Count("pk", filter=Q(pk__in=listed.values("pk"))))
        return counts["selected"], counts["selected"] - counts["shown"]

    def within_list(self, *, tenant: Tenant, reference: TenantReference, query: str) -> QuerySet[Order]:
        """The selected orders that the list with the filters `query` shows."""
        listed = _listed(tenant, reference, query)
        if listed is None:
            return Order.objects.none()
        return self.queryset(tenant=tenant, reference=reference).filter(pk__in=listed.values("pk"))

    def count(self, *, tenant: Tenant, reference: TenantReference, matching_count: int | None = None) -> int:
        if not self.all_matching:
            return len(self.ids)
        if matching_count is not None:
            return max(matching_count - len(self.excluded), 0)
        return self.queryset(tenant=tenant, reference=reference).count()


def _listed(tenant: Tenant, reference: TenantReference, query: str) -> QuerySet[Order] | None:
    """The orders a list with these filters shows; None when the search is not valid (the list shows none)."""
    search = order_search(tenant=tenant, params=QueryDict(filters_only(QueryDict(query))), reference=reference)
    return search.qs if search.is_valid() else None


class _AllBut(frozenset[int]):
    """ "Everything is selected except these": membership answers True for ids not in the set."""

    def __contains__(self, item: object) -> bool:
        return not super().__contains__(item)


class PageTicks:
    """The page's orders that a selection holds, read once for the page's ids (`prime`, by the table)."""

    def __init__(self, selected: QuerySet[Order]) -> None:
        self.selected = selected
        self.ids: set[int] = set()

    def prime(self, page_ids: list[int]) -> None:
        self.ids = set(self.selected.filter(pk__in=page_ids).values_list("pk", flat=True)) if page_ids else set()

    def __contains__(self, item: object) -> bool:
        return item in self.ids
