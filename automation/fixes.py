"""The address check screen's one-click fixes (B6): take the postal code's address, or a postal code that fits
the written address. Each goes through `order_update` (an event per field with old and new values), whose
re-check of the destination resolves the address-warning task the check raised; one a rule or a person
raised is resolved here when the address now passes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from japan.address import AddressCheck, PostalAddress, check_address, normalize_postal_code
from orders.events import Actor
from orders.models import Order
from orders.services import order_update

from .defaults import BuiltinTask
from .models import OrderTask
from .services import order_task_resolve

_FIRST_DIGIT = re.compile(r"[0-9０-９〇一二三四五六七八九十]")


def order_address_check(order: Order) -> AddressCheck:
    return check_address(
        postal_code=order.dest_postal_code,
        prefecture=order.dest_prefecture,
        city=order.dest_city,
        address1=order.dest_address1,
        address2=order.dest_address2,
    )


def street_part(address1: str) -> str:
    """What follows the town in a written address line: from the first number on ("大手町1-1" → "1-1")."""
    text = unicodedata.normalize("NFKC", address1).strip()
    match = _FIRST_DIGIT.search(text)
    return text[match.start() :] if match else ""


@dataclass(frozen=True)
class AddressProposal:
    """The destination as the postal code would have it: prefecture, city and the town in front of the
    written street number. The operator sees it before choosing it."""

    prefecture: str
    city: str
    address1: str


def address_proposal(order: Order, postal: PostalAddress) -> AddressProposal:
    """Keep what the postal code cannot know (the street number, the building in line 2); take the rest."""
    written = unicodedata.normalize("NFKC", order.dest_address1).strip()
    town = postal.town
    if postal.street:  # a business code knows the whole address
        address1 = f"{postal.town}{postal.street}"
    elif town and written.startswith(town):
        address1 = written
    else:
        address1 = f"{town}{street_part(order.dest_address1)}" or written
    return AddressProposal(prefecture=postal.prefecture, city=postal.city, address1=address1)


@dataclass(frozen=True)
class FixOutcome:
    order: Order
    check: AddressCheck
    resolved: bool  # the address-warning task was resolved


@transaction.atomic
def order_address_fix(
    *,
    order: Order,
    actor: Actor,
    postal_code: str | None = None,
    proposal: AddressProposal | None = None,
    expected_version: int | None = None,
) -> FixOutcome:
    """Apply one side of the fix: a new postal code, or the postal code's address. Then check again; a passing
    address resolves the open address-warning task (the one the check raised by the check's re-run in
    order_update, one a rule or a person raised by this actor). A fix that still does not pass keeps the task
    open, so nothing is marked done that is not."""
    changes: dict[str, str] = {}
    if postal_code is not None:
        code = normalize_postal_code(postal_code)
        if code is None:
            raise ValueError(f"not a postal code: {postal_code!r}")
        changes["dest_postal_code"] = code
    if proposal is not None:
        changes.update(dest_prefecture=proposal.prefecture, dest_city=proposal.city, dest_address1=proposal.address1)
    if not changes:
        raise ValueError("nothing to fix")
    was_open = _open_warnings(order).exists()
    updated = order_update(order=order, changes=changes, actor=actor, expected_version=expected_version)
    check = order_address_check(updated)
    if check.ok:
        for task in _open_warnings(updated).select_related("definition"):
            order_task_resolve(task=task, actor=actor)
    return FixOutcome(order=updated, check=check, resolved=was_open and not _open_warnings(updated).exists())


def _open_warnings(order: Order) -> QuerySet[OrderTask]:
    return OrderTask.objects.for_tenant(order.tenant_id).filter(
        order_id=order.pk, definition__code=BuiltinTask.ADDRESS_WARNING, resolved_at=None
    )
