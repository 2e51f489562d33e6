"""Bundle candidates (issue 17 item 1): the destination keys with the normaliser's hard cases, every writer
keeping them (create, edit, import, erasure), and the candidate groups in two queries."""

from __future__ import annotations

import pytest

from orders.bundling import bundle_candidates
from orders.constants import Stage
from orders.destination import destination_keys
from orders.events import Actor
from orders.models import Order, Status
from orders.services import order_update
from tests.factories import ShopFactory, make_order

pytestmark = pytest.mark.django_db

HOME = {
    "dest_name": "山田 太郎",
    "dest_phone": "03-1234-5678",
    "dest_postal_code": "150-0001",
    "dest_prefecture": "東京都",
    "dest_city": "渋谷区",
    "dest_address1": "神宮前1丁目2番3号",
    "dest_address2": "コーポ山田 101",
}


def keys(**changes: str) -> dict[str, str]:
    return destination_keys({**HOME, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {"dest_address1": "神宮前１－２－３"},  # full-width digits and dash
        {"dest_address1": "神宮前一丁目二番三号"},  # kanji numerals
        {"dest_address1": "神宮前1-2-3"},  # 丁目/番/号 as hyphens
        {"dest_address1": "神宮前1ー2ー3"},  # a long-vowel mark typed for the hyphen
        {"dest_postal_code": "〒1500001"},  # 〒 and no hyphen
        {"dest_name": "山田　太郎"},  # an ideographic space
        {"dest_name": "山田太郎 様"},  # no space, and an honorific
        {"dest_address2": "ｺｰﾎﾟ山田101"},  # half-width kana, no space
        {"dest_city": "", "dest_address1": "渋谷区神宮前1-2-3"},  # the city written in the address line
    ],
)
def test_the_same_destination_written_otherwise_has_the_same_name_key(changes):
    assert keys(**changes)["dest_key_name"] == keys()["dest_key_name"] != ""


@pytest.mark.parametrize(
    "phone", ["0312345678", "03(1234)5678", "０３－１２３４－５６７８", "+81 3-1234-5678", "+81-(0)3-1234-5678"]
)
def test_a_phone_written_otherwise_has_the_same_phone_key(phone):
    assert keys(dest_phone=phone)["dest_key_phone"] == keys()["dest_key_phone"] != ""


def test_another_name_at_the_same_address_differs_by_name_but_not_by_phone():
    other = keys(dest_name="山田 花子")
    assert other["dest_key_name"] != keys()["dest_key_name"]
    assert other["dest_key_phone"] == keys()["dest_key_phone"]


@pytest.mark.parametrize(
    ("changes", "empty"),
    [
        ({"dest_postal_code": ""}, {"dest_key_name", "dest_key_phone"}),
        ({"dest_prefecture": "", "dest_city": "", "dest_address1": "", "dest_address2": ""},
         {"dest_key_name", "dest_key_phone"}),
        ({"dest_name": " "}, {"dest_key_name"}),
        ({"dest_phone": "03-1234"}, {"dest_key_phone"}),
    ],
)  # fmt: skip
def test_a_destination_missing_a_part_has_no_key_for_it(changes, empty):
    got = keys(**changes)
    assert {column for column, key in got.items() if not key} == empty


def test_another_house_number_is_another_destination():
    assert keys(dest_address1="神宮前1-2-4")["dest_key_name"] != keys()["dest_key_name"]
    assert keys(dest_address2="コーポ山田 102")["dest_key_name"] != keys()["dest_key_name"]


def test_created_and_edited_orders_keep_their_keys(tenant):
    order = make_order(tenant, **HOME)
    assert (order.dest_key_name, order.dest_key_phone) == (keys()["dest_key_name"], keys()["dest_key_phone"])
    order_update(order=order, changes={"dest_address1": "神宮前1-2-4"}, actor=Actor.system())
    order.refresh_from_db()
    assert order.dest_key_name == keys(dest_address1="神宮前1-2-4")["dest_key_name"]
    order_update(order=order, changes={"remarks": "置き配"}, actor=Actor.system())
    order.refresh_from_db()
    assert order.dest_key_name == keys(dest_address1="神宮前1-2-4")["dest_key_name"]


def test_candidate_groups_are_open_orders_to_one_destination_by_shop_unless_mixed(tenant, django_assert_num_queries):
    shop, other_shop = ShopFactory(tenant=tenant), ShopFactory(tenant=tenant)
    first = make_order(tenant, shop=shop, **HOME)
    second = make_order(tenant, shop=shop, **{**HOME, "dest_address1": "神宮前１丁目２－３", "dest_name": "山田太郎"})
    elsewhere = make_order(tenant, shop=other_shop, **HOME)
    sister = make_order(tenant, shop=shop, **{**HOME, "dest_name": "山田 花子"})
    cancelled_status = Status.objects.for_tenant(tenant).filter(group__stage=Stage.CANCELLED).first()
    cancelled = make_order(tenant, shop=shop, status=cancelled_status, **HOME)
    make_order(tenant, shop=shop)  # somewhere else altogether
    with django_assert_num_queries(2):
        groups, total = bundle_candidates(tenant)
    assert total == 1
    assert [(g.shop_id, g.order_ids) for g in groups] == [(shop.pk, [first.pk, second.pk])]
    mixed, _total = bundle_candidates(tenant, across_shops=True)
    assert [g.order_ids for g in mixed] == [[first.pk, second.pk, elsewhere.pk]]
    by_phone, _total = bundle_candidates(tenant, match="phone_address")
    assert [g.order_ids for g in by_phone] == [[first.pk, second.pk, sister.pk]]
    assert cancelled.pk not in {pk for g in mixed + by_phone for pk in g.order_ids}
    assert bundle_candidates(tenant, stages=["paid"]) == ([], 0)


def test_another_tenants_orders_are_never_candidates(tenant, other_tenant):
    make_order(tenant, **HOME)
    make_order(other_tenant, **HOME)
    assert bundle_candidates(tenant, across_shops=True) == ([], 0)
    assert Order.objects.filter(dest_key_name=keys()["dest_key_name"]).count() == 2


def test_the_import_keeps_the_keys_of_new_and_changed_orders_and_the_erasure_blanks_them(tenant):
    from shops.retention import _erase
    from tests.shops.test_import import imported, order_of, run_import
    from tests.shops.test_import import shop as shop_fixture

    shop = shop_fixture.__wrapped__(tenant)
    run_import(shop, [imported(1)])
    order = order_of(shop, 1)
    first = destination_keys({name: getattr(order, name) for name in HOME})
    assert (order.dest_key_name, order.dest_key_phone) == (first["dest_key_name"], first["dest_key_phone"]) != ("", "")
    run_import(shop, [imported(1, dest_address2="別館 2F")])  # the mall changed the destination
    order = order_of(shop, 1)
    assert order.dest_address2 == "別館 2F"
    moved = destination_keys({name: getattr(order, name) for name in HOME})
    assert order.dest_key_name == moved["dest_key_name"] != first["dest_key_name"]
    _erase(tenant.pk, [(order.pk, order.external_id)])
    order.refresh_from_db()
    assert (order.dest_key_name, order.dest_key_phone) == ("", "")


def test_the_f10_page_shows_the_groups_side_by_side_in_a_fixed_number_of_queries(
    operator_client, tenant, other_tenant, settings, django_assert_max_num_queries
):
    from django.urls import reverse

    settings.LANGUAGE_CODE = "ja"
    shop, other_shop = ShopFactory(tenant=tenant), ShopFactory(tenant=tenant)
    pair = [make_order(tenant, shop=shop, external_id=f"PAIR-{n}", **HOME) for n in range(2)]
    sister = make_order(tenant, shop=shop, external_id="SISTER", **{**HOME, "dest_name": "山田 花子"})
    elsewhere = make_order(tenant, shop=other_shop, external_id="ELSEWHERE", **HOME)
    make_order(other_tenant, external_id="THEIRS", **HOME)
    url = reverse("order_bundles")
    with django_assert_max_num_queries(12):
        page = operator_client.get(url).content.decode()
    assert 'data-total="1"' in page
    assert all(o.external_id in page for o in pair)
    for other in ("SISTER", "ELSEWHERE", "THEIRS"):
        assert other not in page
    assert "同梱候補" in page
    mixed = operator_client.get(url, {"shops": "mixed"}).content.decode()
    assert 'data-orders="3"' in mixed
    assert "ELSEWHERE" in mixed
    by_phone = operator_client.get(url, {"match": "phone_address"}).content.decode()
    assert "SISTER" in by_phone
    assert elsewhere.external_id not in by_phone
    assert "THEIRS" not in mixed + by_phone
    for order in [*pair, sister]:
        order.delete()
    assert 'id="bundle-none"' in operator_client.get(url).content.decode()


def test_the_list_links_the_f10_page(operator_client, tenant):
    from django.urls import reverse

    page = operator_client.get(reverse("home"), follow=True).content.decode()
    assert 'id="bundles-link"' in page
    assert reverse("order_bundles") in page
