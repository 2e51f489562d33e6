"""Where an order goes, as keys that compare (issue 17, B8/T11: bundle candidates).

Two orders can travel as one parcel when they go to the same place and person. Written by hand, by a mall, or
by a CSV, the same destination takes many shapes: full-width digits, 丁目/番地 written out or as hyphens,
"1-2-3" or "一丁目2番3号", a space in the name or none, the phone with hyphens, brackets or +81. The keys are
taken from the normalised form (japan.address.normalize_address for the address, digits for the postal code and
the phone, NFKC without spaces for the name), so each of those shapes gives the same key; then hashed (BLAKE2b,
8 bytes, hex) to a short fixed-width column that an index holds cheaply and that says nothing by itself.

- `dest_key_name`: postal code + address + recipient name (the usual match: same person, same place);
- `dest_key_phone`: postal code + address + phone digits (a household where the name is written differently).

A key is "" when its parts are missing (no postal code or no address; no name or no phone): such orders are
never candidates by that key. Every writer of the destination sets them through `destination_keys` (this is
the one place that says what a destination is): orders.services order_create / order_update, the import
(new and merged orders) and the personal-data erasure (which blanks them).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from japan.address import normalize_address

KEY_FIELDS = (
    "dest_name",
    "dest_phone",
    "dest_postal_code",
    "dest_prefecture",
    "dest_city",
    "dest_address1",
    "dest_address2",
)
KEY_COLUMNS = ("dest_key_name", "dest_key_phone")

_NOT_DIGIT = re.compile(r"\D+")
_SPACES = re.compile(r"[\s\u3000]+")
_HONORIFIC = re.compile(r"(様|さま|殿|御中)$")
_JAPAN_CODE = re.compile(r"^810?(?=[1-9])")


def _digits(text: str) -> str:
    return _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", text or ""))


def normal_name(name: str) -> str:
    """The name without spaces (山田 太郎 = 山田　太郎 = 山田太郎), NFKC (ｶﾅ = カナ), lower case, without 様."""
    text = _SPACES.sub("", unicodedata.normalize("NFKC", name or "")).lower()
    return _HONORIFIC.sub("", text)


def normal_phone(phone: str) -> str:
    """The phone's digits in domestic form (+81 90-1234-5678 = 090(1234)5678 = ０９０１２３４５６７８)."""
    digits = _digits(phone)
    if (phone or "").lstrip().startswith("+") and _JAPAN_CODE.match(digits):
        digits = "0" + _JAPAN_CODE.sub("", digits)
    return digits


def normal_place(values: Mapping[str, Any]) -> tuple[str, str]:
    """(postal code digits, normalised address) of the destination; ("", "") when either is missing."""
    postal = _digits(str(values.get("dest_postal_code") or ""))
    address = normalize_address(
        "".join(
            str(values.get(name) or "") for name in ("dest_prefecture", "dest_city", "dest_address1", "dest_address2")
        )
    )
    if len(postal) != 7 or not address:
        return "", ""
    return postal, address


def _hash(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()


def destination_keys(values: Mapping[str, Any]) -> dict[str, str]:
    """{"dest_key_name": …, "dest_key_phone": …} of a destination given as field values (an order's
    `dest_*` fields, by name)."""
    postal, address = normal_place(values)
    name = normal_name(str(values.get("dest_name") or ""))
    phone = normal_phone(str(values.get("dest_phone") or ""))
    return {
        "dest_key_name": _hash("n", postal, address, name) if postal and name else "",
        "dest_key_phone": _hash("p", postal, address, phone) if postal and len(phone) >= 10 else "",
    }


def order_destination_keys(order: Any) -> dict[str, str]:
    """The keys of an order (or anything with the `dest_*` attributes)."""
    return destination_keys({name: getattr(order, name, "") for name in KEY_FIELDS})


def set_destination_keys(order: Any) -> list[str]:
    """Set the order's keys from its destination; the names of the key columns that changed."""
    changed = []
    for column, key in order_destination_keys(order).items():
        if getattr(order, column) != key:
            setattr(order, column, key)
            changed.append(column)
    return changed


def destination_keys_fill(*, tenant_id: int | None = None, chunk: int = 5000) -> int:
    """Compute and store the keys of every order (of one tenant, or all), in chunks by id: the migration that
    added the columns, and the benchmark's generated orders (written in SQL, without the services), use it.
    Returns how many orders got a key."""
    from django.db import connection

    from .models import Order

    keyed_total, last = 0, 0
    orders = Order.objects.all() if tenant_id is None else Order.objects.filter(tenant_id=tenant_id)
    while True:
        rows = list(orders.filter(pk__gt=last).order_by("pk").values_list("pk", *KEY_FIELDS)[:chunk])
        if not rows:
            return keyed_total
        last = rows[-1][0]
        keyed = []
        for pk, *values in rows:
            keys = destination_keys(dict(zip(KEY_FIELDS, values, strict=True)))
            if keys["dest_key_name"] or keys["dest_key_phone"]:
                keyed.append((pk, keys["dest_key_name"], keys["dest_key_phone"]))
        keyed_total += len(keyed)
        if not keyed:
            continue
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE orders_order o SET dest_key_name = v.n, dest_key_phone = v.p "
                    "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, n, p) WHERE o.id = v.id",
                    [[k[0] for k in keyed], [k[1] for k in keyed], [k[2] for k in keyed]],
                )
        else:
            Order.objects.bulk_update(
                [Order(pk=pk, dest_key_name=n, dest_key_phone=p) for pk, n, p in keyed],
                ["dest_key_name", "dest_key_phone"],
                batch_size=500,
            )
