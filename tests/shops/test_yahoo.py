"""The Yahoo! Shopping connector against the fake Yahoo! over real HTTP: paging, the cursor, changes made at the
mall, the token renewal, errors, broken orders and refused XML. No Django database: the connector is plain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from devtools.fakemalls.yahoo import PAY_METHODS, YCONNECT_PATH, FakeYahoo
from shops.connectors import REGISTRY
from shops.connectors.base import AuthFailed, FailedOrder, ImportedLine, ImportedOrder, MallError, MallUnavailable, Page
from shops.connectors.yahoo import JST, PAYMENT_CODES, UnsafeXML, YahooConnector, parse_xml

STAMP = "%Y%m%d%H%M%S"


class SleepRecorder(list[float]):
    """Stands in for time.sleep: the tests see every wait and never wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeYahoo]:
    with FakeYahoo() as mall:
        yield mall


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as http:
        yield http


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def saved() -> list[dict[str, str]]:
    return []


@pytest.fixture
def connector(
    fake: FakeYahoo, client: httpx.Client, sleeps: SleepRecorder, saved: list[dict[str, str]]
) -> YahooConnector:
    return YahooConnector(fake.credentials, base_url=fake.url, client=client, sleep=sleeps, on_credentials=saved.append)


def imported(pages: list[Page]) -> list[ImportedOrder]:
    return [order for page in pages for order in page.orders if isinstance(order, ImportedOrder)]


def failed(pages: list[Page]) -> list[FailedOrder]:
    return [order for page in pages for order in page.orders if isinstance(order, FailedOrder)]


def list_requests(fake: FakeYahoo) -> list[tuple[str, str, str, str, str]]:
    """(Start, Result, OrderTimeFrom, OrderTimeTo, SellerId) of every orderList call, in order."""
    calls = []
    for request in fake.requests:
        if request.path.endswith("/orderList"):
            req = parse_xml(request.body)
            calls.append(
                tuple(
                    req.findtext(path) or ""
                    for path in (
                        "Search/Start",
                        "Search/Result",
                        "Search/Condition/OrderTimeFrom",
                        "Search/Condition/OrderTimeTo",
                        "SellerId",
                    )
                )
            )
    return calls


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(JST).strftime(STAMP)


# --- paging and the cursor -------------------------------------------------------------------------------------


def test_the_connector_is_registered_for_yahoo() -> None:
    assert REGISTRY["yahoo"] is YahooConnector
    assert set(YahooConnector.secret_fields) == {"access_token", "refresh_token", "client_secret"}


def test_every_order_comes_in_pages_of_a_hundred_with_the_cursor_after_each(
    fake: FakeYahoo, connector: YahooConnector
) -> None:
    ids = fake.add_orders(250)

    pages = list(connector.pages(""))

    assert [len(page.orders) for page in pages] == [100, 100, 50]
    assert [order.external_id for order in imported(pages)] == ids
    assert [page.cursor for page in pages] == [stamp(fake.order(ids[i]).ordered_at) for i in (99, 199, 249)]
    calls = list_requests(fake)
    assert [call[:2] for call in calls] == [("1", "100"), ("101", "100"), ("201", "100")]
    assert {call[4] for call in calls} == {fake.seller_id}
    first_from = dt.datetime.strptime(calls[0][2], STAMP).replace(tzinfo=JST)
    assert abs(first_from - (dt.datetime.now(JST) - YahooConnector.FIRST_POLL)) < dt.timedelta(minutes=1)
    assert {request.authorization for request in fake.requests} == {f"Bearer {fake.access_token}"}


def test_a_single_order_info_is_read_field_by_field(fake: FakeYahoo, connector: YahooConnector) -> None:
    order_id = fake.add_order(
        buyer=0,
        recipient=9,
        address=4,
        pay_method="payment_d1",
        items=[(7, 2), (4, 1)],
        comments="不在時は宅配ボックスへお願いします。",
        auction_id="x1234567890",
        request_date=dt.date(2030, 1, 15),
        request_time="14:00-16:00",
        discount=500,
        points=120,
    )
    kept = fake.order(order_id)

    pages = list(connector.pages(""))

    assert [len(page.orders) for page in pages] == [1]
    assert imported(pages) == [
        ImportedOrder(
            external_id=order_id,
            ordered_at=kept.ordered_at,
            updated_at=kept.updated_at,
            mall_status="2",
            cancelled=False,
            payment_code="payment_d1",
            payment_name="商品代引",
            delivery_name=kept.ship["ShipMethodName"],
            orderer_name="山田 太郎",
            orderer_kana="ヤマダ タロウ",
            orderer_email=kept.pay["BillMailAddress"],
            orderer_phone=kept.pay["BillPhoneNumber"],
            orderer_postal_code="9070004",
            orderer_prefecture="沖縄県",
            orderer_city="石垣市",
            orderer_address1="登野城1-1",
            orderer_address2=kept.pay["BillAddress2"],
            dest_name="比嘉 真央",
            dest_kana="ヒガ マオ",
            dest_phone=kept.ship["ShipPhoneNumber"],
            dest_postal_code="9070004",
            dest_prefecture="沖縄県",
            dest_city="石垣市",
            dest_address1="登野城1-1",
            dest_address2=kept.ship["ShipAddress2"],
            requested_delivery_date=dt.date(2030, 1, 15),
            delivery_time_slot="14:00-16:00",
            shipping_fee=0,  # 1,296 × 2 + 2,980 reaches free shipping
            cod_fee=330,
            discount=500,
            points_used=120,
            total=2592 + 2980 + 330 - 500 - 120,
            remarks="不在時は宅配ボックスへお願いします。",
            order_comment="ヤフオク!併売注文（オークションID: x1234567890）",
            lines=(
                ImportedLine(
                    sku="beniimo-tart-10",
                    name="紅いもタルト 10個入",
                    unit_price=1296,
                    quantity=2,
                    tax_rate=8,
                    mall_line_id="1",
                ),
                ImportedLine(
                    sku="tshirt-basic-m-bk",
                    name="ベーシックTシャツ",
                    unit_price=2980,
                    quantity=1,
                    tax_rate=10,
                    options="サイズ:M / カラー:ブラック",
                    mall_line_id="2",
                ),
            ),
        )
    ]


def test_the_single_order_list_answer_carries_one_order_info_element(fake: FakeYahoo, client: httpx.Client) -> None:
    """The shape the connector must read alike whether one order or many come back."""
    fake.add_orders(1)
    answer = client.post(
        f"{fake.url}/ShoppingWebService/V1/orderList",
        headers={"Authorization": f"Bearer {fake.access_token}"},
        content=(
            f"<Req><Search><Result>10</Result><Start>1</Start><Field>OrderId,OrderTime</Field></Search>"
            f"<SellerId>{fake.seller_id}</SellerId></Req>"
        ).encode(),
    )
    root = parse_xml(answer.text)
    assert root.findtext("Search/TotalCount") == "1"
    assert len(root.findall("Search/OrderInfo")) == 1
    assert [child.tag for child in root.find("Search/OrderInfo")] == ["Index", "OrderId", "OrderTime"]


def test_resuming_from_the_cursor_reads_only_what_came_after_it(fake: FakeYahoo, connector: YahooConnector) -> None:
    first = fake.add_orders(250)
    cursor = list(connector.pages(""))[-1].cursor
    later = fake.add_orders(5)
    before = len(list_requests(fake))

    pages = list(connector.pages(cursor))

    # The cursor's own second is read again (OrderTimeFrom is inclusive); nothing older comes back.
    assert [order.external_id for order in imported(pages)] == [first[-1], *later]
    assert list_requests(fake)[before:][-1][2] == cursor
    assert pages[-1].cursor >= cursor


def test_an_order_cancelled_after_import_comes_back_cancelled(fake: FakeYahoo, connector: YahooConnector) -> None:
    ids = fake.add_orders(30)
    cursor = list(connector.pages(""))[-1].cursor
    fake.cancel(ids[3])

    pages = list(connector.pages(cursor))

    by_id = {order.external_id: order for order in imported(pages)}
    assert set(by_id) == {ids[3], ids[-1]}
    assert by_id[ids[3]].cancelled is True
    assert by_id[ids[3]].mall_status == "4"
    assert by_id[ids[-1]].cancelled is False
    assert pages[0].cursor == cursor  # a re-read of an older order keeps the cursor where it was


def test_an_order_that_reaches_the_list_late_is_still_read(fake: FakeYahoo, connector: YahooConnector) -> None:
    ids = fake.add_orders(10)
    cursor = list(connector.pages(""))[-1].cursor
    late = fake.add_order(ordered_at=fake.order(ids[2]).ordered_at + dt.timedelta(seconds=1))

    pages = list(connector.pages(cursor))

    assert late in [order.external_id for order in imported(pages)]


# --- the mall misbehaving ----------------------------------------------------------------------------------------


def test_a_rate_limit_waits_as_told_then_goes_on(
    fake: FakeYahoo, connector: YahooConnector, sleeps: SleepRecorder
) -> None:
    ids = fake.add_orders(3)
    fake.rate_limit_next(retry_after=7)

    pages = list(connector.pages(""))

    assert [order.external_id for order in imported(pages)] == ids
    assert sleeps == [7.0]


def test_server_errors_are_retried_with_backoff(
    fake: FakeYahoo, connector: YahooConnector, sleeps: SleepRecorder
) -> None:
    ids = fake.add_orders(2)
    fake.fail_next(2)

    pages = list(connector.pages(""))

    assert [order.external_id for order in imported(pages)] == ids
    assert sleeps == [1.0, 2.0]


def test_a_mall_that_keeps_failing_is_unavailable(
    fake: FakeYahoo, connector: YahooConnector, sleeps: SleepRecorder
) -> None:
    fake.add_orders(2)
    fake.fail_next(4)

    with pytest.raises(MallUnavailable, match="500"):
        list(connector.pages(""))
    assert sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("missing_order_id", "OrderInfo has no OrderId"),
        ("bad_number", "Quantity is not a whole number: '二個'"),
        ("not_xml", "not well-formed XML"),
        ("doctype", "DOCTYPE"),
    ],
)
def test_a_malformed_order_is_recorded_and_the_rest_import(
    fake: FakeYahoo, connector: YahooConnector, kind: str, reason: str
) -> None:
    before = fake.add_orders(3)
    broken = fake.add_malformed_order(kind)
    after = fake.add_orders(3)

    pages = list(connector.pages(""))

    [failure] = failed(pages)
    assert failure.external_id == broken
    assert reason in failure.reason
    assert failure.payload.startswith("<?xml")  # the raw orderInfo answer, kept for the operator
    assert [order.external_id for order in imported(pages)] == before + after


def test_an_order_without_a_total_is_read_and_says_why_its_total_is_ours(
    fake: FakeYahoo, connector: YahooConnector
) -> None:
    """Issue 10 #12: TotalPrice only serves to note a difference; its absence (or a garbled one) does not
    refuse the order."""
    missing, garbled, whole = fake.add_orders(3)
    fake.set_detail(missing, "TotalPrice", None)
    fake.set_detail(garbled, "TotalPrice", "1,234円")

    pages = list(connector.pages(""))

    assert failed(pages) == []
    read = {order.external_id: order for order in imported(pages)}
    assert (read[missing].total, read[garbled].total) == (None, None)
    assert read[missing].lines
    [note] = read[missing].notes
    assert missing in note
    [note] = read[garbled].notes
    assert "TotalPrice" in note
    assert "1,234円" in note
    kept = fake.order(whole)
    assert read[whole].total == int(kept.detail["TotalPrice"]) - int(kept.detail["UsePoint"])
    assert read[whole].notes == ()


@pytest.mark.django_db
def test_a_polled_order_without_a_total_imports_with_its_total_computed_and_a_note(fake: FakeYahoo, tenant) -> None:
    from orders.models import Order
    from shops.services import poll_shop, shop_create

    order_id = fake.add_order(items=[(1, 2)], pay_method="payment_a1", discount=0, points=0)
    fake.set_detail(order_id, "TotalPrice", None)
    shop = shop_create(
        tenant=tenant, name="Yahoo!店", mall="yahoo", code="yahoo", base_url=fake.url, credentials=fake.credentials
    )

    run = poll_shop(shop_id=shop.pk, trigger="manual").run

    assert (run.status, run.new, run.failed) == ("ok", 1, 0), run.error
    order = Order.objects.get(shop=shop, external_id=order_id)
    kept = fake.order(order_id)
    assert order.total == 1080 * 2 + int(kept.detail["ShipCharge"])  # the lines and the fees
    assert any(order_id in note and "TotalPrice" in note for note in run.notes), run.notes


def test_a_doctype_in_the_order_list_stops_the_poll(fake: FakeYahoo, connector: YahooConnector) -> None:
    fake.add_orders(2)
    fake.doctype_next()

    with pytest.raises(MallError, match="DOCTYPE"):
        list(connector.pages(""))


@pytest.mark.parametrize(
    "document",
    [
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>',
        '<!doctype r SYSTEM "file:///etc/passwd"><r/>',
        "<r><! ENTITY x 'y'></r>",
    ],
)
def test_parse_xml_refuses_declarations_before_parsing(document: str) -> None:
    with pytest.raises(UnsafeXML):
        parse_xml(document)


def test_parse_xml_reads_a_plain_document() -> None:
    assert parse_xml('<?xml version="1.0" encoding="UTF-8"?><r><a>東京都</a></r>').findtext("a") == "東京都"


# --- the token -------------------------------------------------------------------------------------------------


def test_an_expired_token_is_renewed_saved_and_the_call_repeated(
    fake: FakeYahoo, connector: YahooConnector, saved: list[dict[str, str]], client: httpx.Client
) -> None:
    ids = fake.add_orders(3)
    old = fake.access_token
    fake.expire_token()

    pages = list(connector.pages(""))

    assert [order.external_id for order in imported(pages)] == ids
    assert saved == [{**fake.credentials, "access_token": fake.access_token}]
    assert fake.access_token != old
    [renewal] = [request for request in fake.requests if request.path == YCONNECT_PATH]
    assert renewal.headers["authorization"].startswith("Basic ")
    assert "grant_type=refresh_token" in renewal.body
    # The old token is dead now.
    answer = client.post(
        f"{fake.url}/ShoppingWebService/V1/orderList",
        headers={"Authorization": f"Bearer {old}"},
        content=f"<Req><SellerId>{fake.seller_id}</SellerId></Req>".encode(),
    )
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_a_token_the_mall_does_not_know_is_renewed_too(
    fake: FakeYahoo, client: httpx.Client, sleeps: SleepRecorder
) -> None:
    ids = fake.add_orders(2)
    saved: list[dict[str, str]] = []
    connector = YahooConnector(
        {**fake.credentials, "access_token": "stale"},
        base_url=fake.url,
        client=client,
        sleep=sleeps,
        on_credentials=saved.append,
    )

    assert [order.external_id for order in imported(list(connector.pages("")))] == ids
    assert [credentials["access_token"] for credentials in saved] == [fake.access_token]


def test_a_refused_renewal_is_auth_failed(
    fake: FakeYahoo, connector: YahooConnector, saved: list[dict[str, str]]
) -> None:
    fake.add_orders(2)
    fake.expire_token()
    fake.refuse_refresh = True

    with pytest.raises(AuthFailed, match="invalid_grant"):
        list(connector.pages(""))
    assert saved == []


def test_a_token_refused_again_after_renewal_is_auth_failed_not_a_loop(
    fake: FakeYahoo, client: httpx.Client, sleeps: SleepRecorder
) -> None:
    fake.add_orders(1)
    fake.expire_token()
    renewals: list[dict[str, str]] = []

    def expire_again(new: dict[str, str]) -> None:
        """The fresh token expires at once: the connector must give up after one renewal, not loop."""
        renewals.append(new)
        if len(renewals) > 1:
            raise AssertionError("renewed the token twice for one call")
        fake.expire_token()

    connector = YahooConnector(
        fake.credentials, base_url=fake.url, client=client, sleep=sleeps, on_credentials=expire_again
    )

    with pytest.raises(AuthFailed, match="px-04102"):
        list(connector.pages(""))
    assert len([request for request in fake.requests if request.path == YCONNECT_PATH]) == 1


def test_another_stores_seller_id_is_auth_failed(fake: FakeYahoo, client: httpx.Client, sleeps: SleepRecorder) -> None:
    fake.add_orders(1)
    connector = YahooConnector(
        {**fake.credentials, "seller_id": "someone-else"}, base_url=fake.url, client=client, sleep=sleeps
    )

    with pytest.raises(AuthFailed, match="403"):
        list(connector.pages(""))


def test_the_fake_wants_a_bearer_token(fake: FakeYahoo, client: httpx.Client) -> None:
    answer = client.post(
        f"{fake.url}/ShoppingWebService/V1/orderList",
        content=f"<Req><SellerId>{fake.seller_id}</SellerId></Req>".encode(),
    )
    assert answer.status_code == 401
    assert parse_xml(answer.text).tag == "Error"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


# --- mappings and the demo ----------------------------------------------------------------------------------------


def test_payment_codes_map_onto_the_tenant_default_payment_methods() -> None:
    from orders.services import DEFAULT_PAYMENT_METHODS

    defaults = {code for _name, code, _confirm, _cod in DEFAULT_PAYMENT_METHODS}
    assert set(PAYMENT_CODES.values()) <= defaults
    assert (PAYMENT_CODES["payment_a1"], PAYMENT_CODES["payment_b1"], PAYMENT_CODES["payment_d1"]) == (
        "credit_card",
        "bank_transfer",
        "cod",
    )
    # Every method the demo store takes has a default, except PayPay, which the tenant has no method for.
    assert {code for code, *_ in PAY_METHODS} - PAYMENT_CODES.keys() == {"payment_a17"}


def test_the_demo_store_keeps_taking_orders(fake: FakeYahoo) -> None:
    fake.produce(every=0.01, count=2)
    assert fake.wait_for_orders(4, timeout=5.0)
