"""The Rakuten connector against the fake RMS over real HTTP: paging, cursor, retries, errors, mapping."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from devtools.fakemalls.rakuten import GET_PATH, SEARCH_PATH, SETTLEMENTS, UNSET, FakeRakuten
from shops.connectors import REGISTRY
from shops.connectors.base import (
    AuthFailed,
    FailedOrder,
    ImportedOrder,
    MallError,
    MallUnavailable,
    Page,
    RateLimited,
)
from shops.connectors.rakuten import (
    PAYMENT_CODES,
    SETTLEMENT_METHODS,
    RakutenConnector,
    delivery_from_remarks,
    map_order,
)

JST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture
def fake() -> Iterator[FakeRakuten]:
    mall = FakeRakuten(seed=20260501).start()
    yield mall
    mall.stop()


@pytest.fixture
def connect(fake: FakeRakuten) -> Iterator[Callable[..., RakutenConnector]]:
    """Connectors to the fake with a recorder instead of time.sleep (its list is `connector.slept`)."""
    made: list[RakutenConnector] = []

    def make(
        cls: type[RakutenConnector] = RakutenConnector, credentials: dict[str, str] | None = None, **kwargs: Any
    ) -> RakutenConnector:
        slept: list[float] = []
        connector = cls(
            fake.credentials if credentials is None else credentials, base_url=fake.url, sleep=slept.append, **kwargs
        )
        connector.slept = slept  # type: ignore[attr-defined]
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.client.close()


def now() -> dt.datetime:
    return dt.datetime.now(JST).replace(microsecond=0)


def orders_of(pages: list[Page]) -> list[ImportedOrder | FailedOrder]:
    return [order for page in pages for order in page.orders]


def imported(pages: list[Page]) -> list[ImportedOrder]:
    return [o for o in orders_of(pages) if isinstance(o, ImportedOrder)]


def searches(fake: FakeRakuten) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.path == SEARCH_PATH]


def gets(fake: FakeRakuten) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.path == GET_PATH]


def window(search: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime.fromisoformat(search["startDatetime"]), dt.datetime.fromisoformat(search["endDatetime"]))


# --- paging and the cursor ------------------------------------------------------------------------------------


class SmallPages(RakutenConnector):
    SEARCH_PAGE_SIZE = 120


def test_pages_through_search_pages_and_get_order_chunks(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    numbers = fake.add_orders(250, since=now() - dt.timedelta(days=3), until=now() - dt.timedelta(hours=1))
    connector = connect(SmallPages)

    pages = list(connector.pages(""))

    assert [o.external_id for o in orders_of(pages)] == numbers  # every order once, oldest first
    assert all(isinstance(o, ImportedOrder) for o in orders_of(pages))
    # searchOrder pages of 120 (120, 120, 10), each cut into getOrder chunks of at most 100
    assert [
        (s["PaginationRequestModel"]["requestPage"], s["PaginationRequestModel"]["requestRecordsAmount"])
        for s in searches(fake)
    ] == [(1, 120), (2, 120), (3, 120)]
    assert [len(g["orderNumberList"]) for g in gets(fake)] == [100, 20, 100, 20, 10]
    assert [len(p.orders) for p in pages] == [100, 20, 100, 20, 10]
    assert all(g["version"] == 7 for g in gets(fake))
    # Only the window's last page moves the cursor, to the window's end.
    assert [p.cursor for p in pages[:-1]] == [""] * 4
    end = dt.datetime.fromisoformat(pages[-1].cursor)
    assert window(searches(fake)[0])[1] == end
    assert abs(end - now()) < dt.timedelta(seconds=5)


def test_search_asks_by_order_date_oldest_first_in_rakuten_time_format(
    fake: FakeRakuten, connect: Callable[..., Any]
) -> None:
    fake.add_orders(3, since=now() - dt.timedelta(days=1))

    list(connect().pages(""))

    search = searches(fake)[0]
    assert search["dateType"] == 1
    assert search["PaginationRequestModel"]["SortModelList"] == [{"sortColumn": 1, "sortDirection": 1}]
    assert search["startDatetime"].endswith("+0900")
    assert len(search["startDatetime"]) == 24
    start, end = window(search)
    assert end - start == dt.timedelta(days=30)  # a first poll looks 30 days back


def test_resume_from_saved_cursor_gets_only_newer_orders(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    first_poll = now() - dt.timedelta(hours=1)
    old = fake.add_orders(30, since=first_poll - dt.timedelta(days=2), until=first_poll - dt.timedelta(hours=2))
    pages = list(connect(now=lambda: first_poll).pages(""))
    assert [o.external_id for o in orders_of(pages)] == old
    cursor = pages[-1].cursor
    assert dt.datetime.fromisoformat(cursor) == first_poll

    new = fake.add_orders(5, since=first_poll + dt.timedelta(minutes=5), until=now() - dt.timedelta(minutes=1))
    fake.requests.clear()
    resumed = list(connect().pages(cursor))

    assert [o.external_id for o in orders_of(resumed)] == new
    start, _end = window(searches(fake)[0])
    assert start == first_poll - RakutenConnector.OVERLAP  # a little overlap against clock skew


def test_first_poll_stops_at_initial_lookback_and_a_long_gap_is_read_in_windows(
    fake: FakeRakuten, connect: Callable[..., Any]
) -> None:
    t = now()
    ninety, forty, ten = (fake.add_order(ordered_at=t - dt.timedelta(days=d)) for d in (90, 40, 10))

    assert [o.external_id for o in orders_of(list(connect(now=lambda: t).pages("")))] == [ten]

    fake.requests.clear()
    pages = list(connect(now=lambda: t).pages((t - dt.timedelta(days=100)).isoformat()))

    assert [o.external_id for o in orders_of(pages)] == [ninety, forty, ten]
    windows = [window(s) for s in searches(fake)]
    assert len(windows) == 2
    assert all(end - start <= dt.timedelta(days=62) for start, end in windows)
    assert windows[0][1] == windows[1][0]
    assert windows[1][1] == t
    # The first window's last page saves its end; the poll's last page saves now.
    assert [dt.datetime.fromisoformat(p.cursor) for p in pages] == [windows[0][1], t]


def test_an_empty_window_still_moves_the_cursor(connect: Callable[..., Any]) -> None:
    t = now()
    pages = list(connect(now=lambda: t).pages(""))
    assert [(p.orders, p.cursor) for p in pages] == [([], t.isoformat())]


def test_an_unreadable_cursor_is_an_error_not_a_silent_restart(connect: Callable[..., Any]) -> None:
    with pytest.raises(MallError, match="cursor|カーソル"):
        list(connect().pages("yesterday"))


# --- retries and errors -------------------------------------------------------------------------------------


def test_rate_limit_waits_retry_after_then_succeeds(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    numbers = fake.add_orders(3, since=now() - dt.timedelta(hours=3))
    fake.queue_rate_limit(times=1, retry_after=3)
    connector = connect()

    pages = list(connector.pages(""))

    assert [o.external_id for o in orders_of(pages)] == numbers
    assert connector.slept == [3.0]
    assert len(searches(fake)) == 2  # the refused one and its retry


def test_rate_limit_longer_than_max_wait_gives_up(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    fake.queue_rate_limit(times=1, retry_after=120)
    connector = connect(max_wait=30)

    with pytest.raises(RateLimited) as caught:
        list(connector.pages(""))

    assert caught.value.retry_after == 120
    assert connector.slept == []


def test_server_errors_are_retried_with_backoff(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    numbers = fake.add_orders(2, since=now() - dt.timedelta(hours=1))
    fake.queue_server_error(times=2)
    connector = connect()

    assert [o.external_id for o in orders_of(list(connector.pages("")))] == numbers
    assert connector.slept == [1.0, 2.0]


def test_server_errors_beyond_the_retries_make_the_mall_unavailable(
    fake: FakeRakuten, connect: Callable[..., Any]
) -> None:
    fake.queue_server_error(times=RakutenConnector.RETRIES + 1)
    connector = connect()

    with pytest.raises(MallUnavailable, match="500"):
        list(connector.pages(""))

    assert connector.slept == [1.0, 2.0, 4.0]


def test_wrong_license_key_is_auth_failed(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    connector = connect(credentials={"service_secret": fake.service_secret, "license_key": "SL-wrong"})

    with pytest.raises(AuthFailed, match="ES01-01"):
        list(connector.pages(""))

    assert connector.slept == []  # refused keys are not retried
    assert len(fake.requests) == 1


def test_expired_license_mid_poll_is_auth_failed(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    fake.queue_auth_error()
    with pytest.raises(AuthFailed):
        list(connect().pages(""))


def test_missing_keys_fail_before_calling_the_mall(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    with pytest.raises(AuthFailed):
        list(connect(credentials={"service_secret": "SP", "license_key": ""}).pages(""))
    assert fake.requests == []


def test_an_error_message_from_search_is_a_mall_error(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    fake.queue_message_error("検索条件が不正です。")
    with pytest.raises(MallError, match="検索条件が不正です") as caught:
        list(connect().pages(""))
    assert not isinstance(caught.value, AuthFailed)


# --- broken and missing orders -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("defect", "reason"),
    [
        ("price", "price"),
        ("date", "orderDatetime"),
        ("number", "orderNumber"),
    ],
)
def test_a_malformed_order_is_recorded_and_the_rest_come_through(
    fake: FakeRakuten, connect: Callable[..., Any], defect: str, reason: str
) -> None:
    t = now() - dt.timedelta(hours=2)
    before = fake.add_orders(3, since=t - dt.timedelta(hours=3), until=t - dt.timedelta(hours=2))
    broken = fake.add_malformed_order(defect, ordered_at=t - dt.timedelta(hours=1))
    after = fake.add_orders(3, since=t, until=t + dt.timedelta(minutes=30))

    results = orders_of(list(connect().pages("")))

    assert sorted(o.external_id for o in results if isinstance(o, ImportedOrder)) == sorted(before + after)
    failed = [o for o in results if isinstance(o, FailedOrder)]
    assert len(failed) == 1
    assert failed[0].external_id == broken  # even without orderNumber: the one number nobody answered for
    assert reason in failed[0].reason
    assert json.loads(failed[0].payload) == fake.order(broken)


def test_an_order_of_an_unexpected_shape_fails_alone(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    good, odd = fake.add_order(), fake.add_order()
    fake.update_order(odd, lambda o: o["PackageModelList"][0].update(ItemModelList=5))

    results = connect().get_orders([good, odd])

    assert [(type(r), r.external_id) for r in results] == [(ImportedOrder, good), (FailedOrder, odd)]
    assert "Unexpected" in results[1].reason or "予期しない" in results[1].reason


def test_an_order_rakuten_does_not_know_is_a_failed_order(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    known = fake.add_order()
    unknown = f"{fake.shop_id}-20200101-0000000001"

    results = connect().get_orders([known, unknown])

    assert len(results) == 2
    assert {type(r) for r in results} == {FailedOrder, ImportedOrder}
    failed = next(r for r in results if isinstance(r, FailedOrder))
    assert failed.external_id == unknown
    assert "存在しません" in failed.reason


def test_get_order_is_never_asked_more_than_100(connect: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match="100"):
        connect().get_orders([f"382915-20260101-{i:010d}" for i in range(101)])


# --- mapping -------------------------------------------------------------------------------------------------


def test_unset_amounts_become_zero_and_an_unset_total_is_unknown(
    fake: FakeRakuten, connect: Callable[..., Any]
) -> None:
    number = fake.add_order(remote_island=True, settlement_code=2, couponAllTotalPrice=UNSET)
    raw = fake.order(number)
    assert (raw["postagePrice"], raw["deliveryPrice"], raw["requestPrice"]) == (UNSET, UNSET, UNSET)

    (order,) = imported(list(connect().pages("")))

    assert (order.shipping_fee, order.cod_fee, order.discount) == (0, 0, 0)
    assert order.total is None
    assert order.remote_island is True
    assert order.dest_postal_code in {"907-0004", "100-1101", "891-7101", "952-0011"}


def test_fees_discount_points_and_total(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    number = fake.add_order(
        remote_island=False,
        settlement_code=2,
        items=[("HCR-YZU-50", 1)],
        couponAllTotalPrice=300,
        couponShopPrice=300,
        PointModel={"usedPoint": 100},
        requestPrice=1320 + 770 + 330 - 300 - 100,
    )

    (order,) = imported(list(connect().pages("")))

    assert order.external_id == number
    assert (order.shipping_fee, order.cod_fee, order.discount, order.points_used) == (770, 330, 300, 100)
    assert order.total == 1320 + 770 + 330 - 300 - 100
    assert order.remote_island is False


def test_cod_charge_billed_as_payment_charge_is_the_cod_fee(fake: FakeRakuten) -> None:
    number = fake.add_order(remote_island=False, settlement_code=2, deliveryPrice=0, paymentCharge=330)
    assert map_order(fake.order(number)).cod_fee == 330
    other = fake.add_order(remote_island=False, settlement_code=21, deliveryPrice=0, paymentCharge=250)
    assert map_order(fake.order(other)).cod_fee == 0


def test_tax_rates_become_percent(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    number = fake.add_order(items=[("TEA-SEN-100", 2), ("TWL-IMB-2P", 1), ("KTL-NBT-065", 1)])
    fake.update_order(number, lambda o: o["PackageModelList"][0]["ItemModelList"][2].update(taxRate=None))

    (order,) = imported(list(connect().pages("")))

    assert [(line.sku.split("-")[0], line.tax_rate) for line in order.lines] == [("TEA", 8), ("TWL", 10), ("KTL", 10)]
    assert [line.quantity for line in order.lines] == [2, 1, 1]
    assert order.lines[0].unit_price == 1080


def test_an_order_maps_field_by_field(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    number = fake.add_order(settlement_code=1, packages=2, memo="ギフト包装済み")
    raw = fake.order(number)

    (order,) = imported(list(connect().pages("")))

    orderer, first = raw["OrdererModel"], raw["PackageModelList"][0]
    recipient = first["SenderModel"]  # in Rakuten the package's "sender" is the recipient
    assert (order.external_id, order.mall_status, order.cancelled) == (number, "100", False)
    assert order.ordered_at == dt.datetime.fromisoformat(raw["orderDatetime"])
    assert (order.payment_code, order.payment_name) == ("1", "クレジットカード")
    assert order.delivery_name == raw["DeliveryModel"]["deliveryName"]
    assert order.orderer_name == f"{orderer['familyName']} {orderer['firstName']}"
    assert order.orderer_kana == f"{orderer['familyNameKana']} {orderer['firstNameKana']}"
    assert order.orderer_email == orderer["emailAddress"]
    assert order.orderer_phone == "-".join(orderer[f"phoneNumber{i}"] for i in (1, 2, 3))
    assert order.orderer_postal_code == f"{orderer['zipCode1']}-{orderer['zipCode2']}"
    assert (order.orderer_prefecture, order.orderer_city, order.orderer_address1) == (
        orderer["prefecture"],
        orderer["city"],
        orderer["subAddress"],
    )
    assert order.dest_name == f"{recipient['familyName']} {recipient['firstName']}"
    assert order.dest_postal_code == f"{recipient['zipCode1']}-{recipient['zipCode2']}"
    assert (order.dest_prefecture, order.dest_city, order.dest_address1) == (
        recipient["prefecture"],
        recipient["city"],
        recipient["subAddress"],
    )
    assert order.order_comment == "ギフト包装済み"
    assert order.remarks == raw["remarks"]
    # Items of both packages are lines; fees are the order's totals over the packages.
    items = [i for p in raw["PackageModelList"] for i in p["ItemModelList"]]
    assert [(line.mall_line_id, line.name, line.unit_price, line.quantity) for line in order.lines] == [
        (str(i["itemDetailId"]), i["itemName"], i["price"], i["units"]) for i in items
    ]
    assert [line.options for line in order.lines] == [i["selectedChoice"] or "" for i in items]
    assert order.shipping_fee == sum(p["postagePrice"] for p in raw["PackageModelList"])


@pytest.mark.parametrize(
    ("term", "slot"),
    [
        (0, ""),
        (1, "午前中"),
        (2, "午後"),
        (9, ""),
        (812, "午前中"),
        (1416, "14時～16時"),
        (1921, "19時～21時"),
    ],
)
def test_shipping_term_becomes_the_time_slot(fake: FakeRakuten, term: int, slot: str) -> None:
    number = fake.add_order(deliveryDate="2030-01-15", shippingTerm=term, remarks="")
    order = map_order(fake.order(number))
    assert (order.requested_delivery_date, order.delivery_time_slot) == (dt.date(2030, 1, 15), slot)


def test_delivery_date_written_only_in_the_remarks_is_read(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    remarks = "[配送日時指定:]\n2030-01-15(火)\n14:00～16:00\n[備考:]\nのし希望"
    fake.add_order(deliveryDate=None, shippingTerm=0, remarks=remarks)

    (order,) = imported(list(connect().pages("")))

    assert (order.requested_delivery_date, order.delivery_time_slot) == (dt.date(2030, 1, 15), "14時～16時")
    assert order.remarks == remarks  # kept whole for the operator


@pytest.mark.parametrize(
    ("remarks", "expected"),
    [
        ("[配送日時指定:]\n2030/02/03(日)\n午前中\n", (dt.date(2030, 2, 3), "午前中")),
        ("[配送日時指定：]\n2030-02-03\n", (dt.date(2030, 2, 3), "")),
        ("[備考:]\n2030-02-03に届けて", (None, "")),  # a date outside the delivery part is the customer's prose
        ("[配送日時指定:]\n2030-02-30(?)\n", (None, "")),
        ("", (None, "")),
    ],
)
def test_delivery_from_remarks(remarks: str, expected: tuple[dt.date | None, str]) -> None:
    assert delivery_from_remarks(remarks) == expected


def test_sku_prefers_the_system_sku_then_item_number_then_manage_number(fake: FakeRakuten) -> None:
    number = fake.add_order(items=[("TSH-ORG-01", 1), ("HCR-YZU-50", 1), ("KTL-NBT-065", 1)])

    def strip(order: dict[str, Any]) -> None:
        items = order["PackageModelList"][0]["ItemModelList"]
        items[1]["SkuModelList"] = []
        items[2].update(SkuModelList=[], itemNumber=None)

    fake.update_order(number, strip)
    assert [line.sku for line in map_order(fake.order(number)).lines] == [
        fake.order(number)["PackageModelList"][0]["ItemModelList"][0]["SkuModelList"][0]["merchantDefinedSkuId"],
        "HCR-YZU-50",
        "ktl-nbt-065",
    ]


def test_a_tax_excluded_item_is_imported_with_its_tax_included_price(fake: FakeRakuten) -> None:
    number = fake.add_order(items=[("HCR-YZU-50", 1)])
    fake.update_order(
        number,
        lambda o: o["PackageModelList"][0]["ItemModelList"][0].update(price=1200, includeTaxFlag=0, priceTaxIncl=1320),
    )
    assert map_order(fake.order(number)).lines[0].unit_price == 1320


# --- cancellations -----------------------------------------------------------------------------------------


def test_a_cancellation_after_the_order_was_read_comes_back(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    first_poll = now() - dt.timedelta(minutes=30)
    numbers = fake.add_orders(6, since=first_poll - dt.timedelta(days=3), until=first_poll - dt.timedelta(hours=1))
    cursor = list(connect(now=lambda: first_poll).pages(""))[-1].cursor
    fake.cancel(numbers[1])
    fake.cancel(numbers[4], confirmed=False)
    fake.requests.clear()

    pages = list(connect().pages(cursor))

    by_number = {o.external_id: o for o in imported(pages)}
    assert set(by_number) == {numbers[1], numbers[4]}  # only the changed ones are read again
    cancelled, pending = by_number[numbers[1]], by_number[numbers[4]]
    assert (cancelled.cancelled, cancelled.mall_status) == (True, "900")
    assert cancelled.updated_at is not None
    assert cancelled.updated_at > cancelled.ordered_at
    assert (pending.cancelled, pending.mall_status) == (False, "800")  # Rakuten has not confirmed it yet
    sweep = [s for s in searches(fake) if "orderProgressList" in s]
    assert sweep
    assert all(s["orderProgressList"] == [800, 900] for s in sweep)
    assert {p.cursor for p in pages} == {pages[-1].cursor}
    assert dt.datetime.fromisoformat(pages[-1].cursor) > first_poll


# --- the wire: what the fake checks ------------------------------------------------------------------------


def test_the_esa_header_sent_is_the_one_the_fake_checks(fake: FakeRakuten, connect: Callable[..., Any]) -> None:
    fake.add_orders(2)
    expected = "ESA " + base64.b64encode(f"{fake.service_secret}:{fake.license_key}".encode()).decode()

    list(connect().pages(""))

    assert fake.requests
    assert all(r.headers["authorization"] == expected for r in fake.requests)
    assert all(r.headers["content-type"].startswith("application/json") for r in fake.requests)
    body = {"orderNumberList": fake.numbers()[:1], "version": 7}
    wrong = "ESA " + base64.b64encode(f"{fake.service_secret}:SL-other".encode()).decode()
    for header, status in ((expected, 200), (wrong, 401), (f"Bearer {fake.license_key}", 401)):
        response = httpx.post(fake.url + GET_PATH, json=body, headers={"Authorization": header})
        assert response.status_code == status
    assert response.json() == {"Results": {"errorCode": "ES01-01", "message": "Un-Authorised"}}


def test_fake_refuses_more_than_100_numbers_and_over_long_windows(fake: FakeRakuten) -> None:
    headers = {
        "Authorization": "ESA " + base64.b64encode(f"{fake.service_secret}:{fake.license_key}".encode()).decode()
    }
    too_many = httpx.post(
        fake.url + GET_PATH,
        headers=headers,
        json={"orderNumberList": [f"382915-20260101-{i:010d}" for i in range(101)], "version": 7},
    )
    assert too_many.status_code == 400
    assert too_many.json()["MessageModelList"][0]["messageType"] == "ERROR"

    t = now()
    search = {
        "dateType": 1,
        "startDatetime": (t - dt.timedelta(days=64)).strftime("%Y-%m-%dT%H:%M:%S%z"),
        "endDatetime": t.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "PaginationRequestModel": {"requestRecordsAmount": 1000, "requestPage": 1},
    }
    assert httpx.post(fake.url + SEARCH_PATH, headers=headers, json=search).status_code == 400
    search["startDatetime"] = (t - dt.timedelta(days=63)).strftime("%Y-%m-%dT%H:%M:%S%z")
    assert httpx.post(fake.url + SEARCH_PATH, headers=headers, json=search).status_code == 200
    search["PaginationRequestModel"]["requestRecordsAmount"] = 1001
    assert httpx.post(fake.url + SEARCH_PATH, headers=headers, json=search).status_code == 400


def test_fake_pages_and_filters_by_window_and_progress(fake: FakeRakuten) -> None:
    t = now()
    inside = fake.add_orders(5, since=t - dt.timedelta(days=2), until=t - dt.timedelta(days=1))
    fake.add_order(ordered_at=t - dt.timedelta(days=5))  # outside the window
    fake.cancel(inside[2])
    headers = {
        "Authorization": "ESA " + base64.b64encode(f"{fake.service_secret}:{fake.license_key}".encode()).decode()
    }

    def search(page: int, amount: int, **extra: Any) -> dict[str, Any]:
        body = {
            "dateType": 1,
            "startDatetime": (t - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S%z"),
            "endDatetime": t.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "PaginationRequestModel": {"requestRecordsAmount": amount, "requestPage": page},
            **extra,
        }
        return httpx.post(fake.url + SEARCH_PATH, headers=headers, json=body).json()

    first, last = search(1, 2), search(3, 2)
    assert first["orderNumberList"] == inside[:2]
    assert first["PaginationResponseModel"] == {"totalRecordsAmount": 5, "totalPages": 3, "requestPage": 1}
    assert last["orderNumberList"] == inside[4:]
    assert search(1, 10, orderProgressList=[900])["orderNumberList"] == [inside[2]]


# --- the mappings the import offers --------------------------------------------------------------------------


def test_payment_codes_point_at_the_tenant_default_payment_methods() -> None:
    from orders.services import DEFAULT_PAYMENT_METHODS

    tenant_codes = {code for _name, code, _confirm, _cod in DEFAULT_PAYMENT_METHODS}
    assert set(PAYMENT_CODES.values()) <= tenant_codes
    assert set(PAYMENT_CODES) == set(SETTLEMENT_METHODS)
    assert {c: PAYMENT_CODES[c] for c in ("1", "2", "9", "13", "21")} == {
        "1": "credit_card",
        "2": "cod",
        "9": "bank_transfer",
        "13": "convenience_store",
        "21": "deferred",
    }
    assert {str(code) for code, _name, _w in SETTLEMENTS} <= set(PAYMENT_CODES)  # what the demo mall sends


def test_registered_under_its_kind_with_secret_keys() -> None:
    assert REGISTRY["rakuten"] is RakutenConnector
    assert RakutenConnector.credential_fields == ("service_secret", "license_key")
    assert set(RakutenConnector.secret_fields) == {"service_secret", "license_key"}
