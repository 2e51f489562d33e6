"""Free-text search over orders: one normalised text column per order, matched with LIKE '%q%'.

On PostgreSQL a trigram GIN index (pg_trgm, led by tenant through btree_gin) serves the LIKE, so a search by
phone, kana or order number stays fast at a million orders. Both sides are normalised the same way: NFKC
(full-width letters and digits, half-width kana), hiragana to katakana, lower case, and spaces, hyphens and
other punctuation removed — so 「やまだ」 finds ヤマダ, and 090-1234-5678 finds 09012345678; a leading +81 becomes
the trunk 0, so +81 90-1234-5678 and +819012345678 find it too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import jaconv
from django.db import connection
from django.db.models import BooleanField, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

SEPARATOR = "|"
# Kanji and kana (and 々 〆): the characters whose single letters and pairs PostgreSQL indexes in
# `search_grams` (orders/migrations/0009_search_grams.py names the same class; a test compares the two).
CJK_CLASS = "\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005\u3006"
_SHORT_CJK = re.compile(f"^[{CJK_CLASS}]{{1,2}}$")
_DROP = re.compile(r"[\s\-‐‑‒–—―−ー－ｰ()（）・.,、。/／|]+")
_DASH_IN_KANA = re.compile(r"(?<=[ァ-ヶ])ー")
_JAPAN_CODE = re.compile(r"^\+810?(?=\d)")  # +81 (and a trunk 0 written after it) of a Japanese number


def normalize(text: str) -> str:
    """The form both the stored column and the query take."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = jaconv.hira2kata(text).lower()
    # Keep the long-vowel mark inside kana (コーヒー), drop it as a hyphen elsewhere (電話番号の「ー」).
    text = _DASH_IN_KANA.sub("\u0001", text)
    text = _DROP.sub("", text)
    # A Japanese phone in international form as its domestic digits: "+81 90-1234-5678" finds 090-1234-5678
    # (japan.phones stores that form; a query may still be typed either way).
    text = _JAPAN_CODE.sub("0", text)
    return text.replace("\u0001", "\u30fc")


def search_text(parts: Iterable[str]) -> str:
    """The stored column: each part normalised, joined by a separator no query can contain."""
    seen: list[str] = []
    for part in parts:
        norm = normalize(part)
        if norm and norm not in seen:
            seen.append(norm)
    return SEPARATOR + SEPARATOR.join(seen) + SEPARATOR if seen else ""


def uses_grams(needle: str) -> bool:
    """A normalised term of one or two kanji/kana (佐藤, 林, サト): too short for a trigram, served by the
    `search_grams` index on PostgreSQL."""
    return connection.vendor == "postgresql" and bool(_SHORT_CJK.match(needle))


def text_match(needle: str) -> Q | RawSQL:
    """The filter for a normalised term, in the form an index serves: the grams array for one or two
    kanji/kana on PostgreSQL, else LIKE '%term%' (the trigram index)."""
    if uses_grams(needle):
        return RawSQL("search_grams @> ARRAY[%s]::text[]", (needle,), output_field=BooleanField())
    return Q(search_text__contains=needle)


def text_scan(needle: str) -> Q:
    """The same test in a form no index serves (position of the term > 0). For a term known to match many
    orders, the page then walks the date index and stops after one page instead of collecting every match
    first — a plan chosen on purpose rather than left to the table's statistics."""
    return Q(GreaterThan(StrIndex("search_text", Value(needle)), 0))
