"""Readers of wire values that more than one connector reads the same way, so that a fix reaches every mall
that sends that kind of value. What only one mall sends stays in its connector.

Times come in two flavours, kept apart on purpose: Shopify and SP-API always send an offset, and a time
without one is refused (`aware_datetime`); Rakuten and Yahoo! are Japanese malls whose times are Japan's,
so a time without an offset is read as JST (`in_japan`).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

JST = dt.timezone(dt.timedelta(hours=9), "JST")

# The bounds of an order's numbers, checked where the import prepares an order (shops.services.importer):
# every amount and derived total in yen at most this either way, a line's quantity at most MAX_QUANTITY.
MAX_AMOUNT = 999_999_999_999
MAX_QUANTITY = 999_999
# A number written with more digits than this is not read at all (int() of a 10**9-digit "1e999999999"
# would take minutes): far above the bounds, so the import still names the bound for anything between.
MAX_DIGITS = 40


def aware_datetime(text: Any) -> dt.datetime:
    """An ISO 8601 time that carries its offset ("Z" too). One without an offset raises ValueError rather than
    be guessed: the malls that use this one never send such a time, so it means the payload is broken."""
    if not isinstance(text, str):
        raise ValueError(f"time {text!r} is not text")
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no offset")
    return value


def is_later(candidate: str, current: str) -> bool:
    """Whether the ISO time `candidate` is after `current` (compared as times, not text: the offsets may
    differ). False when either cannot be read, so a cursor only ever moves to a time it can read again."""
    try:
        return aware_datetime(candidate) > aware_datetime(current)
    except ValueError:
        return False


def in_japan(moment: dt.datetime) -> dt.datetime:
    """`moment` as it is when it has an offset; a time sent without one is Japan's (a Japanese mall's)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=JST)


def _json_int(digits: str) -> int | str:
    """A JSON integer as an int, unless it is longer than any number an order can hold: that one stays text
    for the order's own checks to refuse (Python refuses to convert more than 4,300 digits at all, which would
    make the whole page unreadable on every poll, and every later order of the shop with it)."""
    return int(digits) if len(digits.lstrip("-")) <= MAX_DIGITS else digits


def json_body(response: httpx.Response) -> Any:
    """A mall's JSON answer, read so that no single value can make the whole page unreadable. Raises
    ValueError (JSONDecodeError, UnicodeDecodeError) for a body that is not JSON, like Response.json()."""
    return json.loads(response.content, parse_int=_json_int)


def round_yen(value: Any) -> int:
    """A decimal amount ("1080", "1080.00", 1080) as whole yen, half up. A bool or None is refused with
    ValueError, which the connector reports as an unreadable order, rather than read as an amount; text that
    is not a number raises decimal.InvalidOperation. NaN, infinity and numbers of more than MAX_DIGITS digits
    ("1e999999999") raise ValueError too; the import bounds what is left (MAX_AMOUNT, with its own message)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"amount {value!r} is not a number")
    amount = Decimal(str(value))
    if not amount.is_finite() or amount.adjusted() >= MAX_DIGITS:
        raise ValueError(f"amount {value!r} is not a number of yen")
    return int(amount.to_integral_value(ROUND_HALF_UP))
