"""Phone numbers as an order stores them (issue 10 item 10): Japanese numbers in their domestic form.

Shopify (and anyone copying from an international form) sends `+81 90-1234-5678` or `+819012345678`; a
carrier's waybill and an operator's search expect `090-1234-5678`. Every writer of an order's phones
(orders.services order_create / order_update, which the order page and phone entry use, and the import,
which mall connectors and CSV files go through) stores `normalize_phone(value)`; the import keeps what the
mall sent, unchanged, in its mall values (MallOrder) for the next comparison.

The rules, decided once here:
- only a number that starts with the country code +81 is rewritten: the +81 (and a "(0)" after it, or a 0
  written after it by mistake) goes, the trunk prefix 0 comes;
- the grouping the sender gave is kept, its separators written as hyphens ("+81 3 1234 5678" →
  "03-1234-5678");
- a number sent without separators is grouped where the grouping is fixed by its prefix: 070/080/090 (mobile),
  050 (IP) and 020 as 3-4-4, 0120 and 0570 as 4-3-3, 0800 as 4-3-4; a landline's area code has one to four
  digits and its grouping needs the area-code table, so a landline stays plain digits ("+81312345678" →
  "0312345678"), which search, carriers and people all read;
- a +81 number that does not come to 10 or 11 digits, a number of another country ("+1 212-555-0100") and a
  domestic number are stored as sent (trimmed).
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = "\\s\\-‐‑‒–—―−ー－ｰ.()"
_INTERNATIONAL_JP = re.compile(rf"\(?\+[{_SEPARATORS}]*81(?P<rest>[0-9{_SEPARATORS}]+)")
_TRUNK_WRITTEN = re.compile(r"^[\s\-]*\(0\)")  # "+81 (0)3 …": the trunk 0 in parentheses
_GROUPS = re.compile(rf"[^{_SEPARATORS}]+")

# Prefixes whose grouping is fixed (prefix, then the lengths of the groups), longest prefix first.
_FIXED_GROUPING = (
    ("0120", (4, 3, 3)),
    ("0570", (4, 3, 3)),
    ("0800", (4, 3, 4)),
    ("070", (3, 4, 4)),
    ("080", (3, 4, 4)),
    ("090", (3, 4, 4)),
    ("050", (3, 4, 4)),
    ("020", (3, 4, 4)),
)


def _grouped(digits: str) -> str:
    for prefix, lengths in _FIXED_GROUPING:
        if digits.startswith(prefix) and len(digits) == sum(lengths):
            parts, start = [], 0
            for length in lengths:
                parts.append(digits[start : start + length])
                start += length
            return "-".join(parts)
    return digits


def normalize_phone(value: str | None) -> str:
    """The stored form of a phone number (see the module's docstring); "" for nothing."""
    text = (value or "").strip()
    match = _INTERNATIONAL_JP.fullmatch(unicodedata.normalize("NFKC", text))
    if match is None:
        return text
    rest = _TRUNK_WRITTEN.sub("", match.group("rest"))
    groups = _GROUPS.findall(rest)
    if not groups:
        return text
    if not groups[0].startswith("0"):
        groups[0] = "0" + groups[0]
    digits = "".join(groups)
    if not 10 <= len(digits) <= 11:
        return text
    return "-".join(groups) if len(groups) > 1 else _grouped(digits)
