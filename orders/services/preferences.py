"""An operator's own settings of the order list: page size (remembered) and saved searches. Writes, so they
live here and not in the views; a GET never writes (issue 12, item 4)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.http import QueryDict

from backyard.models import Tenant

from ..models import ListPreference, SavedSearch
from ..selection import filters_only

PAGE_SIZES = (50, 100, 200, 500)


class PreferenceRefused(ValueError):
    """What the operator asked for cannot be kept (an empty name or search, a page size not offered)."""


def list_page_size_set(*, tenant: Tenant, user: Any, page_size: int) -> int:
    """Remember the operator's rows per page (one of PAGE_SIZES)."""
    if page_size not in PAGE_SIZES:
        raise PreferenceRefused(f"page size {page_size} is not offered")
    ListPreference.objects.update_or_create(tenant=tenant, user=user, defaults={"page_size": page_size})
    return page_size


def saved_search_save(*, tenant: Tenant, user: Any, name: str, query: str) -> SavedSearch:
    """Save (or overwrite, by name) the operator's search: its filters only, no paging or sorting."""
    name, filters = name.strip()[:100], filters_only(QueryDict(query))
    if not name or not filters:
        raise PreferenceRefused("a saved search needs a name and a search")
    try:
        with transaction.atomic():
            saved, _ = SavedSearch.objects.update_or_create(
                tenant=tenant, user=user, name=name, defaults={"query": filters}
            )
    except IntegrityError as error:  # two saves of one name at the same moment
        raise PreferenceRefused("the search could not be saved") from error
    return saved


def saved_search_delete(*, saved: SavedSearch) -> None:
    saved.delete()
