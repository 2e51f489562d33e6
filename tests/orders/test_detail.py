"""The editable order detail page (T13, F12): sections, lines, memo, labels, optimistic locking, htmx, queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from orders import events
from orders.constants import EventType, Stage
from orders.events import Actor
from orders.exceptions import StaleOrder
from orders.models import Label, Order, OrderEvent, OrderLine, PaymentMethod, Status
from orders.services import (
    order_add_label,
    order_add_memo,
    order_line_add,
    order_line_remove,
    order_line_update,
    order_update,
)
from shipping.models import DeliveryMethod, ShippingStore
from tests.factories import make_order

ACTOR = Actor.system("test")
HTMX = {"HX-Request": "true"}


def url(name: str, order: Order, *args: Any) -> str:
    return reverse(name, args=[order.pk, *args])


def snapshot(order: Order) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """The stored order, its lines and how many events it has: "nothing saved" means none of it changed."""
    return (
        Order.objects.filter(pk=order.pk).values().get(),
        list(OrderLine.objects.filter(order=order).order_by("pk").values()),
        OrderEvent.objects.filter(order=order).count(),
    )


def new_events(order: Order, type_: str = EventType.FIELD_CHANGED) -> dict[str, dict[str, Any]]:
    return {e.data["field"]: e.data for e in OrderEvent.objects.filter(order=order, type=type_)}


ORDERER = {
    "orderer_name": "佐藤 花子",
    "orderer_kana": "サトウ ハナコ",
    "orderer_email": "hanako@example.jp",
    "orderer_phone": "０９０－１１１１－２２２２",
    "orderer_postal_code": "〒１５００００２",
    "orderer_prefecture": "東京都",
    "orderer_city": "渋谷区",
    "orderer_address1": "渋谷2-21-1",
    "orderer_address2": "ヒカリエ 10F",
}
DESTINATION = {
    "dest_name": "鈴木 一郎",
    "dest_kana": "スズキ イチロウ",
    "dest_company": "株式会社スズキ",
    "dest_phone": "06-1234-5678",
    "dest_postal_code": "530-0001",
    "dest_prefecture": "大阪府",
    "dest_city": "大阪市北区",
    "dest_address1": "梅田1-1-1",
    "dest_address2": "",
}


def delivery_data(order: Order, **overrides: Any) -> dict[str, Any]:
    tenant = order.tenant
    data = {
        "payment_method": PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer").pk,
        "delivery_method": DeliveryMethod.objects.for_tenant(tenant).get(name="ゆうパック").pk,
        "delivery_slot": "am",
        "requested_delivery_date": "2026-05-01",
        "ship_date": "2026-04-28",
        "shipping_store": ShippingStore.objects.for_tenant(tenant).first().pk,
    }
    data.update(overrides)
    return data


AMOUNTS = {"shipping_fee": "800", "cod_fee": "330", "discount": "100", "points_used": "50"}
COMMENTS = {
    "remarks": "不在時は宅配ボックスへ",
    "order_comment": "ギフト包装希望",
    "post_order_comment": "",
    "mail_inquiry": "on",
}


# --- the page --------------------------------------------------------------------------------------------------


def test_detail_shows_every_part_of_the_order(operator_client, tenant):
    order = make_order(
        tenant,
        external_id="R-200",
        remarks="午前中希望",
        lines=[
            {"sku": "A-1", "name": "緑茶", "unit_price": 1000, "quantity": 2, "tax_rate": 8},
            {"sku": "B-2", "name": "急須", "unit_price": 3000, "quantity": 1, "tax_rate": 10},
        ],
    )
    label = Label.objects.for_tenant(tenant).get(name="ギフト")
    order_add_label(order=order, label=label, actor=ACTOR)

    body = operator_client.get(url("order_detail", order)).content.decode()

    for text in [
        "R-200",
        "山田 太郎",
        "ヤマダ タロウ",
        "taro@example.jp",
        "100-0005",
        "丸の内1-1-1",
        "午前中希望",
        "緑茶",
        "急須",
        "ギフト",
        "クレジットカード",
        "受注登録",
        "ラベル追加",
        'id="move-form"',
        f"¥{order.total:,}",
    ]:
        assert text in body, text
    assert 'id="section-orderer"' in body
    assert 'id="section-destination"' in body
    assert 'id="section-delivery"' in body
    assert 'id="section-amounts"' in body
    assert 'id="section-comments"' in body


def test_history_is_oldest_first_with_who_and_old_and_new_values(operator_client, operator, tenant):
    order = make_order(tenant)
    order_update(order=order, changes={"shipping_fee": 1200}, actor=Actor.for_user(operator))
    memo = "電話で確認済"
    order_add_memo(order=order, text=memo, actor=Actor.for_user(operator))

    body = operator_client.get(url("order_detail", order)).content.decode()
    history = body.split('id="order-history-list"')[1]

    assert history.index("受注登録") < history.index("¥600") < history.index(memo)
    assert '¥600</span> → <span class="by-new fw-semibold">¥1,200' in history
    assert "operator" in history


def test_history_says_where_an_order_came_from_and_which_job_changed_it_in_words(operator_client, tenant):
    """History lines used to show raw codes (manual, import, seed_demo, retention)."""
    from orders.services import order_create

    shop = make_order(tenant).shop
    demo = order_create(
        tenant=tenant,
        shop=shop,
        external_id="DEMO-1",
        fields={"orderer_name": "佐藤"},
        lines=[{"sku": "A", "name": "品", "unit_price": 100, "quantity": 1}],
        actor=Actor.system("seed_demo"),
        source="seed_demo",
    )
    phone = order_create(
        tenant=tenant,
        shop=shop,
        external_id="TEL-1",
        fields={"orderer_name": "鈴木"},
        lines=[{"sku": "A", "name": "品", "unit_price": 100, "quantity": 1}],
        actor=Actor.system("system"),
        source="manual",
    )
    order_update(order=demo, changes={"orderer_name": "（削除済み）"}, actor=Actor.system("retention"))

    demo_history = operator_client.get(url("order_detail", demo)).content.decode().split('id="order-history-list"')[1]
    phone_history = operator_client.get(url("order_detail", phone)).content.decode().split('id="order-history-list"')[1]

    assert "デモデータ" in demo_history
    assert "個人情報の保管期限" in demo_history
    assert "電話・FAX受注" in phone_history
    for raw in ("seed_demo", "retention", ">manual", " manual ", "システム: system"):
        assert raw not in demo_history + phone_history


@pytest.mark.parametrize(
    ("back", "expected"),
    [
        ("/orders/?status=3&q=山田", "/orders/?status=3&amp;q=山田"),
        ("https://evil.example/orders/", "/orders/"),
        ("//evil.example/orders/", "/orders/"),
        ("javascript:alert(1)", "/orders/"),
        ("orders/?status=3", "/orders/"),
    ],
)
def test_back_to_the_list_only_goes_to_this_site(operator_client, tenant, back, expected):
    order = make_order(tenant)
    body = operator_client.get(url("order_detail", order), {"back": back}).content.decode()
    assert f'href="{expected}" id="back-link"' in body


def test_a_save_keeps_the_back_url(operator_client, tenant):
    order = make_order(tenant)
    response = operator_client.post(
        url("order_edit_amounts", order), {**AMOUNTS, "version": order.version, "back": "/orders/?status=3"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{url('order_detail', order)}?back=%2Forders%2F%3Fstatus%3D3"


# --- edit sections ---------------------------------------------------------------------------------------------


def test_orderer_section_saves_normalised_values_with_events(operator_client, operator, tenant):
    order = make_order(tenant)

    response = operator_client.post(url("order_edit_orderer", order), {**ORDERER, "version": order.version})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.orderer_name == "佐藤 花子"
    assert order.orderer_postal_code == "150-0002"
    assert order.orderer_phone == "090-1111-2222"
    changes = new_events(order)
    assert changes["orderer_name"]["old"] == "山田 太郎"
    assert changes["orderer_name"]["new"] == "佐藤 花子"
    assert changes["orderer_postal_code"]["old"] == "100-0005"
    assert changes["orderer_postal_code"]["new"] == "150-0002"
    assert "orderer_prefecture" not in changes  # unchanged fields write no event
    assert OrderEvent.objects.filter(order=order, type=EventType.FIELD_CHANGED).first().actor_user_id == operator.pk


def test_destination_section_saves(operator_client, tenant):
    order = make_order(tenant)
    operator_client.post(url("order_edit_destination", order), {**DESTINATION, "version": order.version})
    order.refresh_from_db()
    assert (order.dest_company, order.dest_prefecture, order.dest_postal_code) == (
        "株式会社スズキ",
        "大阪府",
        "530-0001",
    )
    changes = new_events(order)
    assert changes["dest_company"]["old"] == ""
    assert changes["dest_company"]["new"] == "株式会社スズキ"
    assert changes["dest_name"]["old"] == "山田 太郎"


def test_copy_from_orderer_fills_the_destination_without_saving(operator_client, tenant):
    order = make_order(tenant, orderer_name="注文 者", orderer_city="横浜市", dest_name="別人", dest_city="札幌市")
    before = snapshot(order)

    response = operator_client.post(
        url("order_edit_destination", order),
        {**DESTINATION, "dest_company": "会社名", "version": order.version, "copy_from_orderer": "1"},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert 'name="dest_name" value="注文 者"' in body
    assert 'name="dest_city" value="横浜市"' in body
    assert 'name="dest_company" value="会社名"' in body
    assert snapshot(order) == before


def test_delivery_section_saves_the_tenants_rows(operator_client, tenant):
    order = make_order(tenant)
    data = delivery_data(order)

    operator_client.post(url("order_edit_delivery", order), {**data, "version": order.version})

    order.refresh_from_db()
    assert order.payment_method.code == "bank_transfer"
    assert order.delivery_method.name == "ゆうパック"
    assert str(order.ship_date) == "2026-04-28"
    assert order.delivery_slot == "am"
    changes = new_events(order)
    assert changes["payment_method"]["old"]["name"] == "クレジットカード"
    assert changes["payment_method"]["new"]["name"] == "銀行振込"
    assert changes["ship_date"] == {**changes["ship_date"], "old": None, "new": "2026-04-28"}


def test_delivery_section_keeps_an_inactive_method_the_order_already_has(operator_client, tenant):
    order = make_order(tenant)
    PaymentMethod.objects.filter(pk=order.payment_method_id).update(active=False)
    other = PaymentMethod.objects.for_tenant(tenant).exclude(pk=order.payment_method_id).first()
    other.active = False
    other.save()

    body = operator_client.get(url("order_detail", order)).content.decode()
    section = body.split('id="section-delivery"')[1].split("</form>")[0]
    assert "クレジットカード" in section
    assert other.name not in section

    response = operator_client.post(
        url("order_edit_delivery", order),
        {**delivery_data(order, payment_method=order.payment_method_id), "version": order.version},
    )
    assert response.status_code == 302


def test_amounts_section_saves_and_totals_follow(operator_client, tenant):
    order = make_order(tenant)  # one line of 1,080 × 2 at 8 %, shipping 600
    assert order.total == 2760

    operator_client.post(url("order_edit_amounts", order), {**AMOUNTS, "version": order.version})

    order.refresh_from_db()
    assert (order.shipping_fee, order.cod_fee, order.discount, order.points_used) == (800, 330, 100, 50)
    assert order.total == 2160 + 800 + 330 - 100 - 50
    assert new_events(order)["shipping_fee"] == {**new_events(order)["shipping_fee"], "old": 600, "new": 800}
    body = operator_client.get(url("order_detail", order)).content.decode()
    assert f'id="order-total">¥{order.total:,}<' in body


def test_a_discount_change_recomputes_total_and_tax(operator_client, tenant):
    order = make_order(
        tenant, lines=[{"sku": "X", "name": "品", "unit_price": 11000, "quantity": 1, "tax_rate": 10}], shipping_fee=0
    )
    assert (order.total, order.tax) == (11000, 1000)

    operator_client.post(
        url("order_edit_amounts", order),
        {"shipping_fee": "0", "cod_fee": "0", "discount": "1,100", "points_used": "0", "version": order.version},
    )

    order.refresh_from_db()
    assert (order.discount, order.total, order.tax) == (1100, 9900, 900)


def test_comments_section_saves(operator_client, tenant):
    order = make_order(tenant)
    operator_client.post(url("order_edit_comments", order), {**COMMENTS, "version": order.version})
    order.refresh_from_db()
    assert order.remarks == "不在時は宅配ボックスへ"
    assert order.mail_inquiry is True
    changes = new_events(order)
    assert changes["mail_inquiry"]["old"] is False
    assert changes["mail_inquiry"]["new"] is True
    assert changes["order_comment"]["new"] == "ギフト包装希望"


def test_saving_an_unchanged_section_writes_nothing(operator_client, tenant):
    order = make_order(tenant)
    before = snapshot(order)
    data = {name: getattr(order, name) for name in ORDERER}
    response = operator_client.post(url("order_edit_orderer", order), {**data, "version": order.version})
    assert response.status_code == 302
    assert snapshot(order) == before


# --- memo and labels -------------------------------------------------------------------------------------------


def test_work_memo_appends_with_an_event(operator_client, operator, tenant):
    order = make_order(tenant)
    operator_client.post(url("order_memo_add", order), {"text": "在庫を確認中", "version": order.version})
    operator_client.post(url("order_memo_add", order), {"text": "入荷日を連絡", "version": order.version + 1})
    order.refresh_from_db()
    first, second = order.work_memo.splitlines()
    assert first.endswith("operator] 在庫を確認中")
    assert second.endswith("operator] 入荷日を連絡")
    assert list(
        OrderEvent.objects.filter(order=order, type=EventType.MEMO_ADDED).values_list("data__text", flat=True)
    ) == ["在庫を確認中", "入荷日を連絡"]


def test_a_blank_memo_is_refused(operator_client, tenant):
    order = make_order(tenant)
    before = snapshot(order)
    response = operator_client.post(url("order_memo_add", order), {"text": "   ", "version": order.version})
    assert response.status_code == 200
    assert snapshot(order) == before


def test_labels_are_added_and_removed_with_events(operator_client, tenant):
    order = make_order(tenant)
    label = Label.objects.for_tenant(tenant).get(name="至急")

    operator_client.post(url("order_label_add", order), {"label": label.pk})
    assert list(order.labels.all()) == [label]
    operator_client.post(url("order_label_remove", order), {"label": label.pk})
    assert list(order.labels.all()) == []

    types = list(OrderEvent.objects.filter(order=order).exclude(type=EventType.CREATED).values_list("type", "data"))
    assert [(t, d["label"]["name"]) for t, d in types] == [
        (EventType.LABEL_ADDED, "至急"),
        (EventType.LABEL_REMOVED, "至急"),
    ]


def test_another_tenants_label_is_not_found(operator_client, tenant, other_tenant):
    order = make_order(tenant)
    theirs = Label.objects.for_tenant(other_tenant).first()
    for name in ("order_label_add", "order_label_remove"):
        assert operator_client.post(url(name, order), {"label": theirs.pk}).status_code == 404
    assert not order.labels.exists()


# --- lines -----------------------------------------------------------------------------------------------------


def line_data(line: OrderLine, version: int, **overrides: Any) -> dict[str, Any]:
    data = {
        "sku": line.sku,
        "name": line.name,
        "options": line.options,
        "unit_price": line.unit_price,
        "quantity": line.quantity,
        "tax_rate": line.tax_rate,
        "version": version,
    }
    data.update(overrides)
    return data


def test_a_quantity_change_recomputes_the_totals_and_is_in_the_history(operator_client, tenant):
    order = make_order(tenant)
    line = order.lines.get()

    response = operator_client.post(
        url("order_line_edit", order, line.pk), line_data(line, order.version, quantity="３", unit_price="1,000")
    )

    assert response.status_code == 302
    order.refresh_from_db()
    line.refresh_from_db()
    assert (line.quantity, line.unit_price) == (3, 1000)
    assert order.item_subtotal == 3000
    assert order.total == 3600
    event = OrderEvent.objects.get(order=order, type=EventType.LINE_CHANGED)
    assert {c["field"]: (c["old"], c["new"]) for c in event.data["changes"]} == {
        "quantity": (2, 3),
        "unit_price": (1080, 1000),
    }
    body = operator_client.get(url("order_detail", order)).content.decode()
    assert 'id="order-total">¥3,600<' in body
    assert "数量:" in body
    assert '2</span> → <span class="by-new fw-semibold">3' in body


def test_a_line_is_added_and_removed(operator_client, tenant):
    order = make_order(tenant)

    operator_client.post(
        url("order_line_add", order),
        {
            "sku": "NEW-1",
            "name": "おまけ",
            "options": "",
            "unit_price": "0",
            "quantity": "1",
            "tax_rate": "10",
            "version": order.version,
        },
    )
    added = order.lines.get(sku="NEW-1")
    order.refresh_from_db()
    assert order.lines.count() == 2
    assert order.total == 2760
    assert OrderEvent.objects.filter(order=order, type=EventType.LINE_ADDED).exists()

    operator_client.post(url("order_line_remove", order, added.pk), {"version": order.version})
    assert list(order.lines.values_list("sku", flat=True)) == ["SKU-001"]
    assert OrderEvent.objects.get(order=order, type=EventType.LINE_REMOVED).data["line"]["sku"] == "NEW-1"


def test_a_line_of_another_order_is_not_found(operator_client, tenant):
    order, other = make_order(tenant), make_order(tenant)
    theirs = other.lines.get()
    before = snapshot(other)
    assert (
        operator_client.post(
            url("order_line_edit", order, theirs.pk), line_data(theirs, other.version, quantity=5)
        ).status_code
        == 404
    )
    assert (
        operator_client.post(url("order_line_remove", order, theirs.pk), {"version": other.version}).status_code == 404
    )
    assert snapshot(other) == before


# --- optimistic locking ----------------------------------------------------------------------------------------


def test_a_second_operator_cannot_overwrite_the_first(operator_client, tenant):
    """Both load version N; the first saves; the second's save is refused with the reason and saves nothing."""
    order = make_order(tenant)
    loaded = order.version
    first = operator_client.post(url("order_edit_orderer", order), {**ORDERER, "version": loaded})
    assert first.status_code == 302
    before = snapshot(order)

    second = operator_client.post(
        url("order_edit_orderer", order), {**ORDERER, "orderer_name": "上書き 太郎", "version": loaded}
    )

    body = second.content.decode()
    assert second.status_code == 200
    assert "編集中に他の人がこの受注を変更しました" in body
    assert 'value="上書き 太郎"' in body  # the second operator's entries are kept on screen
    assert snapshot(order) == before


@pytest.mark.parametrize("section", ["orderer", "destination", "delivery", "amounts", "comments"])
def test_every_section_refuses_a_stale_version(operator_client, tenant, section):
    order = make_order(tenant)
    data = {
        "orderer": ORDERER,
        "destination": DESTINATION,
        "amounts": AMOUNTS,
        "comments": COMMENTS,
        "delivery": delivery_data(order),
    }[section]
    order_update(order=order, changes={"remarks": "先に保存"}, actor=ACTOR)
    before = snapshot(order)

    response = operator_client.post(url(f"order_edit_{section}", order), {**data, "version": order.version})

    assert "他の人がこの受注を変更しました" in response.content.decode()
    assert snapshot(order) == before


@pytest.mark.parametrize("action", ["edit", "add", "remove"])
def test_line_changes_refuse_a_stale_version(operator_client, tenant, action):
    order = make_order(tenant)
    line = order.lines.get()
    loaded = order.version
    order_update(order=order, changes={"shipping_fee": 0}, actor=ACTOR)
    before = snapshot(order)

    if action == "edit":
        response = operator_client.post(url("order_line_edit", order, line.pk), line_data(line, loaded, quantity=9))
    elif action == "add":
        response = operator_client.post(url("order_line_add", order), line_data(line, loaded, sku="Z"))
    else:
        response = operator_client.post(url("order_line_remove", order, line.pk), {"version": loaded})

    assert response.status_code == 200
    assert "他の人がこの受注を変更しました" in response.content.decode()
    assert snapshot(order) == before


def test_line_services_check_the_version_only_when_given(tenant):
    order = make_order(tenant)
    line = order.lines.get()
    stale = order.version
    order_line_update(line=line, changes={"quantity": 3}, actor=ACTOR)  # old callers: no version, no check
    order.refresh_from_db()
    assert order.version == stale + 1

    with pytest.raises(StaleOrder):
        order_line_update(line=line, changes={"quantity": 4}, actor=ACTOR, expected_version=stale)
    with pytest.raises(StaleOrder):
        order_line_add(order=order, values={"name": "追加"}, actor=ACTOR, expected_version=stale)
    with pytest.raises(StaleOrder):
        order_line_remove(line=line, actor=ACTOR, expected_version=stale)
    line.refresh_from_db()
    assert line.quantity == 3
    assert order.lines.count() == 1

    order_line_update(line=line, changes={"quantity": 4}, actor=ACTOR, expected_version=order.version)
    added = order_line_add(order=order, values={"name": "追加"}, actor=ACTOR, expected_version=order.version + 1)
    order_line_remove(line=added, actor=ACTOR, expected_version=order.version + 2)
    order.refresh_from_db()
    assert order.version == stale + 4
    assert order.item_subtotal == 1080 * 4


# --- invalid input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "field", "message"),
    [
        ("order_edit_amounts", {**AMOUNTS, "shipping_fee": "-100"}, "shipping_fee", "0 以上"),
        ("order_edit_amounts", {**AMOUNTS, "discount": "12.5"}, "discount", "整数"),
        ("order_edit_amounts", {**AMOUNTS, "cod_fee": "abc"}, "cod_fee", "整数"),
        ("order_edit_amounts", {**AMOUNTS, "points_used": "9" * 30}, "points_used", "以下"),
        # the postal code and phone fields are phone entry's too (orders.fields): the same checks and words
        ("order_edit_orderer", {**ORDERER, "orderer_postal_code": "123-456"}, "orderer_postal_code", "7 桁"),
        ("order_edit_orderer", {**ORDERER, "orderer_postal_code": "1234"}, "orderer_postal_code", "7 桁"),
        ("order_edit_orderer", {**ORDERER, "orderer_phone": "03-1234"}, "orderer_phone", "のように入力"),
        ("order_edit_orderer", {**ORDERER, "orderer_email": "taro@"}, "orderer_email", "メールアドレス"),
        ("order_edit_destination", {**DESTINATION, "dest_postal_code": "abc-defg"}, "dest_postal_code", "7 桁"),
        ("order_edit_destination", {**DESTINATION, "dest_phone": "電話 0312345678"}, "dest_phone", "のように入力"),
        ("order_edit_destination", {**DESTINATION, "dest_prefecture": "火星"}, "dest_prefecture", "正しく選択"),
    ],
)
def test_bad_input_shows_errors_in_japanese_and_saves_nothing(operator_client, tenant, name, data, field, message):
    order = make_order(tenant)
    before = snapshot(order)

    response = operator_client.post(url(name, order), {**data, "version": order.version})

    body = response.content.decode()
    assert response.status_code == 200
    assert f'name="{field}"' in body
    assert "is-invalid" in body
    assert message in body
    assert snapshot(order) == before


def test_a_foreign_payment_method_is_a_form_error(operator_client, tenant, other_tenant):
    order = make_order(tenant)
    theirs = PaymentMethod.objects.for_tenant(other_tenant).get(code="bank_transfer")
    before = snapshot(order)

    response = operator_client.post(
        url("order_edit_delivery", order), {**delivery_data(order, payment_method=theirs.pk), "version": order.version}
    )

    assert response.status_code == 200
    assert "正しく選択してください" in response.content.decode()
    assert snapshot(order) == before


@pytest.mark.parametrize("quantity", ["0", "-1", "", "1.5", "x"])
def test_a_line_needs_a_quantity_of_at_least_one(operator_client, tenant, quantity):
    order = make_order(tenant)
    line = order.lines.get()
    before = snapshot(order)
    response = operator_client.post(
        url("order_line_edit", order, line.pk), line_data(line, order.version, quantity=quantity)
    )
    assert response.status_code == 200
    assert "数量:" in response.content.decode()
    assert snapshot(order) == before


def test_a_new_line_needs_a_name(operator_client, tenant):
    order = make_order(tenant)
    before = snapshot(order)
    response = operator_client.post(
        url("order_line_add", order),
        {"sku": "S", "name": "", "unit_price": "100", "quantity": "1", "tax_rate": "10", "version": order.version},
    )
    assert "商品名: このフィールドは必須です。" in response.content.decode()
    assert snapshot(order) == before


GARBAGE = [
    {},
    {"version": "abc"},
    {"version": str(2**70), "shipping_fee": "1"},
    {"version": "999", "payment_method": "99999999999999999999999", "ship_date": "2026-13-45"},
    {"version": "999", "tax_rate": "7", "quantity": "1", "name": "x\x00y", "unit_price": "1"},
    {"version": "-1", "label": "abc", "amount": "¥", "paid_on": "x", "reason": "\x00"},
]
POST_URLS = [
    "order_edit_orderer",
    "order_edit_destination",
    "order_edit_delivery",
    "order_edit_amounts",
    "order_edit_comments",
    "order_memo_add",
    "order_line_add",
    "order_confirm_payment",
    "order_cancel",
    "order_label_add",
    "order_label_remove",
    "order_move",
]


@pytest.mark.parametrize("name", POST_URLS)
@pytest.mark.parametrize("data", GARBAGE)
def test_garbage_never_breaks_the_page_and_saves_nothing(operator_client, tenant, name, data):
    order = make_order(tenant)
    before = snapshot(order)
    response = operator_client.post(url(name, order), data)
    assert response.status_code in {200, 404}
    assert snapshot(order) == before


@pytest.mark.parametrize("name", ["order_line_edit", "order_line_remove"])
@pytest.mark.parametrize("line_id", ["987654321", str(2**70)])
def test_garbage_line_ids_are_not_found(operator_client, tenant, name, line_id):
    order = make_order(tenant)
    assert (
        operator_client.post(
            f"{url('order_detail', order)}lines/{line_id}/{'remove/' if name.endswith('remove') else ''}",
            {"version": order.version},
        ).status_code
        == 404
    )


# --- htmx ------------------------------------------------------------------------------------------------------


def test_htmx_save_answers_with_the_section_and_out_of_band_updates(operator_client, tenant):
    order = make_order(tenant)

    response = operator_client.post(
        url("order_edit_amounts", order), {**AMOUNTS, "version": order.version}, headers=HTMX
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert "<body" not in body
    assert body.lstrip().startswith('<form id="section-amounts"')
    order.refresh_from_db()
    assert (
        'id="order-totals" class="d-flex justify-content-end align-items-start border-start ms-auto px-2 py-1" '
        'hx-swap-oob="true"' in body
    )
    assert f'id="order-total">¥{order.total:,}<' in body
    assert '<div id="order-history" class="card" hx-swap-oob="true">' in body
    assert "送料" in body.split('id="order-history"')[1]
    assert f'value="{order.version}" class="by-version" hx-swap-oob="outerHTML:.by-version"' in body
    assert '<div id="detail-messages" hx-swap-oob="true">' in body


def test_htmx_line_change_answers_with_the_lines_and_their_totals(operator_client, tenant):
    order = make_order(tenant)
    line = order.lines.get()
    response = operator_client.post(
        url("order_line_edit", order, line.pk), line_data(line, order.version, quantity=5), headers=HTMX
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="order-lines"')
    assert 'id="order-total">¥6,000<' in body
    assert body.count('id="order-totals"') == 1  # inside the lines, not again out of band


def test_htmx_errors_answer_with_the_section_and_no_new_version(operator_client, tenant):
    order = make_order(tenant)
    response = operator_client.post(
        url("order_edit_amounts", order), {**AMOUNTS, "cod_fee": "-1", "version": order.version}, headers=HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<form id="section-amounts"')
    assert "is-invalid" in body
    assert "outerHTML:.by-version" not in body


def test_without_htmx_a_save_redirects_and_an_error_shows_the_whole_page(operator_client, tenant):
    order = make_order(tenant)
    saved = operator_client.post(url("order_edit_amounts", order), {**AMOUNTS, "version": order.version})
    assert saved.status_code == 302
    assert saved["Location"] == url("order_detail", order)
    order.refresh_from_db()
    refused = operator_client.post(
        url("order_edit_amounts", order), {**AMOUNTS, "cod_fee": "-1", "version": order.version}
    )
    assert refused.status_code == 200
    assert "<html" in refused.content.decode()


def test_a_memo_added_after_someone_elses_save_does_not_hand_out_the_new_version(operator_client, tenant):
    order = make_order(tenant)
    loaded = order.version
    order_update(order=order, changes={"remarks": "別の人"}, actor=ACTOR)
    response = operator_client.post(url("order_memo_add", order), {"text": "メモ", "version": loaded}, headers=HTMX)
    assert "outerHTML:.by-version" not in response.content.decode()  # the page's other forms stay stale

    order.refresh_from_db()
    response = operator_client.post(
        url("order_memo_add", order), {"text": "メモ2", "version": order.version}, headers=HTMX
    )
    assert f'value="{order.version + 1}" class="by-version" hx-swap-oob' in response.content.decode()


# --- queries ---------------------------------------------------------------------------------------------------

# session, user, memberships; the order (with shop, status, methods, store); statuses; the tenant's reference rows
# (one UNION); lines; labels; events; the order's tasks; the events its rules wrote. The same for 2 lines and
# 3 events as for 20 lines and 60 events.
DETAIL_QUERIES = 12  # with the navigation's count of mail problems (mailer.context_processors)


def order_with(tenant: Any, n_lines: int, n_events: int) -> Order:
    order = make_order(
        tenant,
        lines=[
            {"sku": f"S-{i}", "name": f"商品{i}", "unit_price": 100 + i, "quantity": 1, "tax_rate": 8 if i % 2 else 10}
            for i in range(n_lines)
        ],
    )
    for label in Label.objects.for_tenant(tenant)[:2]:
        order_add_label(order=order, label=label, actor=ACTOR)
    paid = Status.objects.for_tenant(tenant).filter(group__stage=Stage.PAID).select_related("group").first()
    line = order.lines.first()
    built = []
    kinds = [
        lambda: events.order_field_changed_event(
            order=order, actor=ACTOR, field="payment_method", old=order.payment_method, new=None, commit=False
        ),
        lambda: events.order_line_changed_event(
            order=order, actor=ACTOR, line=line, changes={"quantity": (1, 2)}, commit=False
        ),
        lambda: events.order_status_changed_event(order=order, actor=ACTOR, old=order.status, new=paid, commit=False),
        lambda: events.order_memo_added_event(order=order, actor=ACTOR, text="メモ", commit=False),
    ]
    have = OrderEvent.objects.filter(order=order).count()
    for i in range(n_events - have):
        built.append(kinds[i % len(kinds)]())
    OrderEvent.objects.bulk_create(built)
    assert (order.lines.count(), OrderEvent.objects.filter(order=order).count()) == (n_lines, n_events)
    return order


@pytest.mark.parametrize(("n_lines", "n_events"), [(2, 3), (20, 60)])
def test_the_detail_page_runs_a_fixed_number_of_queries(
    operator_client, tenant, django_assert_max_num_queries, n_lines, n_events
):
    order = order_with(tenant, n_lines, n_events)
    operator_client.get(url("order_detail", order))  # the session and login are warm

    with django_assert_max_num_queries(DETAIL_QUERIES):
        response = operator_client.get(url("order_detail", order))

    assert response.status_code == 200
    assert response.content.decode().count('class="list-group-item py-1 px-2"') == n_events


# --- other tenants ---------------------------------------------------------------------------------------------

NEW_URLS = [*POST_URLS[:-1], "order_line_edit", "order_line_remove", "order_detail"]


@pytest.mark.parametrize("name", NEW_URLS)
def test_another_tenants_order_is_not_found_on_every_new_url(operator_client, tenant, other_tenant, name):
    theirs = make_order(other_tenant)
    before = snapshot(theirs)
    args = [theirs.lines.get().pk] if name in {"order_line_edit", "order_line_remove"} else []
    data = {
        "version": theirs.version,
        **AMOUNTS,
        "text": "x",
        "reason": "x",
        "amount": "1",
        "paid_on": "2026-04-01",
        "label": Label.objects.for_tenant(tenant).first().pk,
        "name": "x",
        "quantity": "1",
        "unit_price": "1",
        "tax_rate": "10",
    }
    method = operator_client.get if name == "order_detail" else operator_client.post
    assert method(url(name, theirs, *args), data).status_code == 404
    assert snapshot(theirs) == before
