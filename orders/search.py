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

SEPARATOR = "|"
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
    # (orders.phones stores that form; a query may still be typed either way).
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
