"""Fee tables (issue 16, item 1): hand-checked quotes, the slot and size mappings, query counts, admin
validation, the order page's panel and the demo's tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from devtools.demo import demo_fees_create
from inventory.models import SetComponent, SizeClass
from orders.models import PaymentMethod
from orders.slots import DeliverySlot
from shipping.constants import SIZE_ORDER, SLOTS, carrier_slots, slot_code
from shipping.models import DeliveryMethod, FeeTable, IslandPolicy
from shipping.services.fees import fee_quotes, shipping_fee_for
from tests.factories import ShopFactory, make_order
from tests.shipping.fee_helpers import line, method, product, size_table, weight_table


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def cod(tenant: Any) -> PaymentMethod:
    return PaymentMethod.objects.for_tenant(tenant).get(code="cod")


def order_to(tenant: Any, via: DeliveryMethod, prefecture: str = "東京都", postal: str = "100-0005", **kw: Any) -> Any:
    kw.setdefault("lines", [line("A60")])
    return make_order(tenant, delivery_method=via, dest_prefecture=prefecture, dest_postal_code=postal, **kw)


# --- constants ---------------------------------------------------------------------------------------------


def test_the_slot_and_size_values_are_the_orders_and_inventorys():
    assert SLOTS == tuple(value for value in DeliverySlot.values if value)
    assert SIZE_ORDER == tuple(SizeClass.values)


def test_each_carriers_codes_for_the_canonical_slots():
    assert [slot_code("yamato", s) for s in SLOTS] == ["0812", "", "1416", "1618", "1820", "1921"]
    assert [slot_code("sagawa", s) for s in SLOTS] == ["01", "12", "14", "16", "18", "19"]
    assert slot_code("yamato", "") == ""
    assert slot_code("other", "am") == ""
    assert "12-14" not in carrier_slots("yamato")


def test_a_method_offering_a_slot_its_carrier_has_no_code_for_is_refused(tenant):
    from django.core.exceptions import ValidationError

    bad = DeliveryMethod(tenant=tenant, name="x", carrier="yamato", slots=["12-14"])
    with pytest.raises(ValidationError):
        bad.clean()


# --- quotes, checked by hand ---------------------------------------------------------------------------------


@pytest.fixture
def takkyubin(tenant: Any) -> DeliveryMethod:
    product(tenant, "A60", "60", 500)
    product(tenant, "B80", "80", 1500)
    product(tenant, "MAIL", "mail", 80)
    product(tenant, "NOSIZE", "", None)
    return method(tenant, "宅急便", size_table(tenant))


def test_zone_times_the_largest_size_class(tenant, takkyubin):
    order = order_to(tenant, takkyubin, "大阪府", "530-0001", lines=[line("A60"), line("B80")])
    quote = shipping_fee_for(order)
    assert (quote.fee, quote.cod_fee, quote.zone, quote.parcel_class, quote.refused) == (
        1500,
        0,
        "関西",
        "80サイズ",
        "",
    )
    assert any("関西" in text and "1,500円" in text for text in quote.lines)


def test_an_unknown_sku_or_a_product_without_size_counts_as_the_methods_default(tenant, takkyubin):
    takkyubin.default_size_class = "100"
    takkyubin.save()
    unknown = order_to(tenant, takkyubin, lines=[line("A60"), line("NO-SUCH-SKU")])
    sizeless = order_to(tenant, takkyubin, lines=[line("NOSIZE")])
    quotes = fee_quotes(tenant, [unknown.pk, sizeless.pk])
    assert quotes[unknown.pk].fee == 1600  # 関東 × 100
    assert quotes[sizeless.pk].fee == 1600


def test_a_mail_size_parcel_goes_at_the_smallest_size_the_table_has(tenant, takkyubin):
    quote = shipping_fee_for(order_to(tenant, takkyubin, "福岡県", "810-0001", lines=[line("MAIL")]))
    assert quote.fee == 1500
    assert "60" in quote.parcel_class


def test_a_size_the_zone_has_no_rate_for_is_refused(tenant, takkyubin):
    product(tenant, "C100", "100")
    quote = shipping_fee_for(order_to(tenant, takkyubin, "福岡県", "810-0001", lines=[line("C100")]))
    assert quote.fee is None
    assert "no rate" in quote.refused


def test_a_prefecture_in_no_zone_and_a_method_without_table_are_refused(tenant, takkyubin):
    assert "in no zone" in shipping_fee_for(order_to(tenant, takkyubin, "北海道", "060-0001")).refused
    bare = DeliveryMethod.objects.create(tenant=tenant, name="手渡し")
    assert "has no fee table" in shipping_fee_for(order_to(tenant, bare)).refused
    assert "no delivery method" in shipping_fee_for(make_order(tenant)).refused


def test_weight_classes_from_the_summed_weight(tenant):
    product(tenant, "W120", "", 120)
    via = method(tenant, "定形外", weight_table(tenant), default_weight_g=300, cod_allowed=False)
    two = order_to(tenant, via, lines=[line("W120", quantity=2)])  # 240 g → up to 250 g
    unknown = order_to(tenant, via, lines=[line("W120"), line("???")])  # 120 + 300 = 420 g → up to 500 g
    heavy = order_to(tenant, via, lines=[line("W120", quantity=9)])  # 1,080 g: over the heaviest class
    quotes = fee_quotes(tenant, [two.pk, unknown.pk, heavy.pk])
    assert quotes[two.pk].fee == 320
    assert quotes[unknown.pk].fee == 510
    assert quotes[heavy.pk].fee is None
    assert "1080" in quotes[heavy.pk].refused


def test_a_set_product_without_size_or_weight_counts_as_its_components(tenant, takkyubin):
    tea, cup = product(tenant, "TEA", "60", 150), product(tenant, "CUP", "80", 400)
    gift = product(tenant, "GIFT", "")  # the set: no size or weight of its own
    boxed = product(tenant, "BOXED", "100", 900)  # a set with its own: its own count
    for set_product in (gift, boxed):
        set_product.is_set = True
        set_product.save()
        SetComponent.objects.create(tenant=tenant, set_product=set_product, component=tea, quantity=2)
        SetComponent.objects.create(tenant=tenant, set_product=set_product, component=cup, quantity=1)
    by_size = order_to(tenant, takkyubin, lines=[line("GIFT")])
    own = order_to(tenant, takkyubin, lines=[line("BOXED")])
    quotes = fee_quotes(tenant, [by_size.pk, own.pk])
    assert quotes[by_size.pk].parcel_class == "80サイズ"  # the cup's, the largest component
    assert quotes[own.pk].parcel_class == "100サイズ"
    via = method(tenant, "定形外", weight_table(tenant), default_weight_g=50, cod_allowed=False)
    weighed = order_to(tenant, via, lines=[line("GIFT")])  # 150 × 2 + 400 = 700 g → up to 1 kg
    assert shipping_fee_for(weighed).fee == 750
    cup.weight_g = None  # a component of unknown weight: the method's default for the set, as for any product
    cup.save()
    assert shipping_fee_for(weighed).fee == 180  # 50 g: up to 100 g


def test_remote_island_surcharge_from_the_tenants_island_codes_or_the_malls_flag(tenant, takkyubin):
    FeeTable.objects.filter(pk=takkyubin.fee_table_id).update(
        island_policy=IslandPolicy.SURCHARGE, island_surcharge=1100
    )
    sado = order_to(tenant, takkyubin, "新潟県", "952-0011")  # 佐渡市: in the seeded island codes
    flagged = order_to(tenant, takkyubin, "東京都", "100-0005", mall_remote_island=True)
    niigata = order_to(tenant, takkyubin, "新潟県", "950-0087")  # 新潟市: mainland
    quotes = fee_quotes(tenant, [sado.pk, flagged.pk, niigata.pk])
    assert (quotes[sado.pk].fee, quotes[sado.pk].surcharge) == (2200, 1100)
    assert quotes[flagged.pk].fee == 2100
    assert quotes[niigata.pk].fee == 1100


def test_a_table_not_available_to_islands_refuses_them(tenant, takkyubin):
    FeeTable.objects.filter(pk=takkyubin.fee_table_id).update(island_policy=IslandPolicy.UNAVAILABLE)
    quote = shipping_fee_for(order_to(tenant, takkyubin, "沖縄県", "907-0001"))  # 石垣市
    assert quote.fee is None
    assert "remote islands" in quote.refused
    assert shipping_fee_for(order_to(tenant, takkyubin, "沖縄県", "900-0001")).fee == 1100  # 那覇市


def test_free_shipping_from_the_threshold_for_the_shops_it_names(tenant, takkyubin):
    table = FeeTable.objects.get(pk=takkyubin.fee_table_id)
    table.free_threshold = 5000
    table.save()
    at = order_to(tenant, takkyubin, lines=[line("A60", price=5000)])
    below = order_to(tenant, takkyubin, lines=[line("A60", price=4999)])
    quotes = fee_quotes(tenant, [at.pk, below.pk])
    assert (quotes[at.pk].fee, quotes[at.pk].free) == (0, True)
    assert (quotes[below.pk].fee, quotes[below.pk].free) == (1000, False)
    table.free_shops.set([ShopFactory(tenant=tenant)])  # only another shop ships free now
    assert shipping_fee_for(at).fee == 1000


def test_free_shipping_still_charges_the_island_surcharge(tenant, takkyubin):
    FeeTable.objects.filter(pk=takkyubin.fee_table_id).update(
        free_threshold=5000, island_policy=IslandPolicy.SURCHARGE, island_surcharge=1100
    )
    quote = shipping_fee_for(order_to(tenant, takkyubin, "新潟県", "952-0011", lines=[line("A60", price=6000)]))
    assert (quote.fee, quote.free, quote.surcharge) == (1100, True, 1100)


@pytest.mark.parametrize(
    ("price", "cod_fee"),
    [(8000, 330), (9000, 330), (9001, 440), (29_000, 440), (29_001, 660), (99_000, 660), (150_000, 1100)],
)
def test_cod_fee_by_the_band_of_the_amount_to_collect(tenant, takkyubin, price, cod_fee):
    # to collect: items + 1,000円 shipping (東京 × 60)
    order = order_to(tenant, takkyubin, lines=[line("A60", price=price)], payment_method=cod(tenant))
    quote = shipping_fee_for(order)
    assert (quote.fee, quote.cod_fee) == (1000, cod_fee)
    assert quote.cod_band


def test_cod_beyond_the_last_band_or_on_a_method_without_cod_is_refused(tenant, takkyubin):
    big = order_to(tenant, takkyubin, lines=[line("A60", price=299_001)], payment_method=cod(tenant))
    assert "No COD fee band" in shipping_fee_for(big).refused
    takkyubin.cod_allowed = False
    takkyubin.save()
    small = order_to(tenant, takkyubin, payment_method=cod(tenant))
    assert "cannot carry cash on delivery" in shipping_fee_for(small).refused


def test_quotes_read_the_tables_and_products_once_whatever_the_orders(tenant, takkyubin):
    few = [order_to(tenant, takkyubin, lines=[line("A60"), line("B80")]).pk for _ in range(3)]
    many = few + [order_to(tenant, takkyubin, "大阪府", lines=[line("MAIL"), line("X")]).pk for _ in range(12)]
    with CaptureQueriesContext(connection) as small:
        fee_quotes(tenant, few)
    with CaptureQueriesContext(connection) as large:
        quotes = fee_quotes(tenant, many)
    assert len(large) == len(small) <= 9
    assert len(quotes) == 15


def test_another_tenants_orders_get_no_quote(tenant, other_tenant, takkyubin):
    foreign = make_order(other_tenant)
    assert fee_quotes(tenant, [foreign.pk]) == {}


# --- the order page's panel -------------------------------------------------------------------------------


def test_the_panel_explains_the_fee_and_is_linked_from_the_order_page(tenant, takkyubin, operator_client):
    order = order_to(tenant, takkyubin, "大阪府", "530-0001", lines=[line("B80")], payment_method=cod(tenant))
    url = reverse("shipping_order_fee", args=[order.pk])
    assert url in operator_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    response = operator_client.get(url)
    text = response.content.decode()
    assert response.status_code == 200
    assert "関西" in text
    assert "80" in text
    assert "1,500" in text
    assert "330" in text


def test_the_panel_answers_404_for_another_tenants_order(other_tenant, operator_client):
    foreign = make_order(other_tenant)
    assert operator_client.get(reverse("shipping_order_fee", args=[foreign.pk])).status_code == 404


def test_the_panel_reads_a_fixed_number_of_queries(tenant, takkyubin, operator_client, django_assert_max_num_queries):
    order = order_to(tenant, takkyubin, lines=[line("A60"), line("B80"), line("MAIL")])
    with django_assert_max_num_queries(20):
        operator_client.get(reverse("shipping_order_fee", args=[order.pk]))


# --- admin -----------------------------------------------------------------------------------------------


def table_post(**extra: Any) -> dict[str, Any]:
    data = {
        "name": "新しい表",
        "basis": "size",
        "island_policy": "same",
        "island_surcharge": "0",
        "zones-TOTAL_FORMS": "2",
        "zones-INITIAL_FORMS": "0",
        "zones-MIN_NUM_FORMS": "0",
        "zones-MAX_NUM_FORMS": "1000",
        "zones-0-name": "関東",
        "zones-0-position": "1",
        "zones-0-prefectures_text": "東京 神奈川県、千葉県",
        "zones-0-rates_text": "60=1,040 80=1360",
        "zones-1-name": "関西",
        "zones-1-position": "2",
        "zones-1-prefectures_text": "大阪府 京都",
        "zones-1-rates_text": "60=1170",
        "cod_bands-TOTAL_FORMS": "2",
        "cod_bands-INITIAL_FORMS": "0",
        "cod_bands-MIN_NUM_FORMS": "0",
        "cod_bands-MAX_NUM_FORMS": "1000",
        "cod_bands-0-min_amount": "0",
        "cod_bands-0-max_amount": "10000",
        "cod_bands-0-fee": "330",
        "cod_bands-1-min_amount": "10001",
        "cod_bands-1-max_amount": "30000",
        "cod_bands-1-fee": "440",
    }
    data.update(extra)
    return data


def test_the_admin_saves_a_table_with_zones_and_bands(tenant, admin_client_tenant):
    response = admin_client_tenant.post(reverse("admin:shipping_feetable_add"), table_post())
    assert response.status_code == 302, response.content.decode()[:3000]
    table = FeeTable.objects.for_tenant(tenant).get(name="新しい表")
    zones = {zone.name: (zone.prefectures, zone.rates) for zone in table.zones.all()}
    assert zones["関東"] == (["東京都", "神奈川県", "千葉県"], {"60": 1040, "80": 1360})
    assert zones["関西"] == (["大阪府", "京都府"], {"60": 1170})
    assert table.cod_bands.count() == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"cod_bands-1-min_amount": "9000"}, "9,000〜30,000円 が重なっています"),
        ({"cod_bands-1-fee": "-10"}, "代引手数料に負の値"),
        ({"zones-1-rates_text": "60=-5"}, "送料に負の値"),
        ({"zones-1-prefectures_text": "東京都"}, "東京都が2つの地帯"),
        ({"zones-1-prefectures_text": "大阪府 ニューヨーク"}, "都道府県ではありません"),
        ({"zones-1-rates_text": "70=1000"}, "サイズ区分ではありません"),
    ],
)
def test_the_admin_refuses_bad_tables_in_japanese(tenant, admin_client_tenant, extra, message):
    with translation.override("ja"):
        response = admin_client_tenant.post(
            reverse("admin:shipping_feetable_add"), table_post(**extra), HTTP_ACCEPT_LANGUAGE="ja"
        )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not FeeTable.objects.for_tenant(tenant).filter(name="新しい表").exists()


def test_the_admin_lists_only_the_tenants_tables(tenant, other_tenant, admin_client_tenant):
    size_table(tenant, name="自社の表")
    size_table(other_tenant, name="他社の表")
    text = admin_client_tenant.get(reverse("admin:shipping_feetable_changelist")).content.decode()
    assert "自社の表" in text
    assert "他社の表" not in text
    foreign = FeeTable.objects.get(name="他社の表")
    assert admin_client_tenant.get(reverse("admin:shipping_feetable_change", args=[foreign.pk])).status_code in (
        302,
        404,
    )


# --- the demo --------------------------------------------------------------------------------------------


def test_the_demo_has_yamato_and_japan_post_tables(tenant):
    assert demo_fees_create(tenant=tenant) == 8
    assert demo_fees_create(tenant=tenant) == 0  # idempotent
    names = set(FeeTable.objects.for_tenant(tenant).values_list("name", flat=True))
    assert {
        "宅急便（ヤマト運輸）",
        "ゆうパック（日本郵便）",
        "クリックポスト（日本郵便）",
        "ネコポス（ヤマト運輸）",
    } <= names
    yamato = FeeTable.objects.for_tenant(tenant).get(name="宅急便（ヤマト運輸）")
    assert yamato.zones.count() == 12
    covered = [pref for zone in yamato.zones.all() for pref in zone.prefectures]
    assert len(covered) == len(set(covered)) == 47
    assert list(yamato.cod_bands.values_list("max_amount", "fee")) == [
        (10_000, 330),
        (30_000, 440),
        (100_000, 660),
        (300_000, 1_100),
    ]
    assert yamato.free_threshold == 5000
    assert yamato.free_shops.count() <= 1
    via = DeliveryMethod.objects.for_tenant(tenant).get(name="宅急便")
    assert via.fee_table == yamato
    assert via.slots == ["am", "14-16", "16-18", "18-20", "19-21"]
    product(tenant, "DEMO80", "80")
    quote = shipping_fee_for(order_to(tenant, via, "北海道", "060-0001", lines=[line("DEMO80")]))
    assert quote.fee == 1940
    assert quote.zone == "北海道"
    click = DeliveryMethod.objects.for_tenant(tenant).get(name="クリックポスト")
    assert shipping_fee_for(order_to(tenant, click)).fee == 185


def test_the_delivery_method_admin_offers_the_slots_and_refuses_one_the_carrier_lacks(tenant, admin_client_tenant):
    via = DeliveryMethod.objects.for_tenant(tenant).get(name="宅急便")
    url = reverse("admin:shipping_deliverymethod_change", args=[via.pk])
    assert admin_client_tenant.get(url).status_code == 200
    data = {
        "name": "宅急便",
        "carrier": "yamato",
        "service": "takkyubin",
        "cool_type": "",
        "cod_allowed": "on",
        "slots": ["am", "19-21"],
        "default_size_class": "60",
        "position": "1",
        "active": "on",
    }
    assert admin_client_tenant.post(url, data).status_code == 302
    via.refresh_from_db()
    assert via.slots == ["am", "19-21"]
    assert via.cod_allowed
    with translation.override("ja"):
        response = admin_client_tenant.post(url, {**data, "slots": ["12-14"]}, HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200
    assert "配送会社にコードのない配達時間帯" in response.content.decode()
