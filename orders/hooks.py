"""Hooks other apps register into, so that orders never imports them.

`order_fields_changed`: called by every writer that changes fields of existing orders (order_update, the
import's merge), inside its transaction, after the orders' rows (and their new version) are written and while
their row locks are held, with the tenant's id, the orders and the names of the fields that changed. Automation
registers its re-check of the built-in tasks that depend on those fields (automation.apps; the address check
after a destination edit, issue 10 item 9), so the task is raised or resolved at once, in the same
transaction, instead of at the next auto-processing run. A hook must not raise the orders' version again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

FieldsChangedHook = Callable[[int, list[int], frozenset[str]], None]

_fields_changed: list[FieldsChangedHook] = []


def on_order_fields_changed(hook: FieldsChangedHook) -> None:
    """Register `hook(tenant_id, order_ids, fields)`; registering the same function twice keeps one."""
    if hook not in _fields_changed:
        _fields_changed.append(hook)


def order_fields_changed(*, tenant_id: int, order_ids: Iterable[int], fields: Collection[str]) -> None:
    """Tell the registered hooks that these orders' `fields` changed (nothing when either is empty)."""
    ids = sorted(set(order_ids))
    names = frozenset(fields)
    if not ids or not names:
        return
    for hook in list(_fields_changed):
        hook(tenant_id, ids, names)
