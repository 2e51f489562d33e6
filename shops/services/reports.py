"""Shipment data to the malls (issue 16 item 4, B12): every parcel an order gets (shipping.services.tracking:
an issued-data file, a number typed on the order page, a warehouse's answer) is told to the mall the order came
from, through its API where the shop has one, else as a file the operator uploads to the mall.

The record is a ShipmentReport per (order, shop, mall order number): `numbers` what the mall is to know, `told`
what it knows. The shipping hook (`reports_queue`) writes the rows for thousands of orders in a few queries and
sends one task per row after the commit. A send (`shipment_report_send`) takes its row with SKIP LOCKED and
marks it "sending" before any HTTP, so a task the broker delivers twice finds it taken and does nothing; it
sends only the parcels not told yet, so nothing is told twice. The mall's answer decides the state:

- told: the mall took it (MALL_NOTIFIED on the order);
- refused: the mall said no (an unknown order, a number of the wrong shape): not retried, since the same
  report would be refused again; the order stays shipped here, marked "mall not told" with the mall's words
  (MALL_NOT_NOTIFIED);
- a rate limit (honouring the mall's Retry-After) or an unavailable mall: back to pending, and the task tries
  again after a backoff; after the last retry, failed with the reason (MALL_NOT_NOTIFIED);
- credentials refused: failed at once (an administrator must act first).

Failed and refused rows are listed on the shops page and retried from there or from the order
(`reports_retry`). Shops without an API (Yahoo! Auctions, CSV shops, API shops without credentials) hand
their pending rows over as a file (`reports_file`): Amazon's fulfillment flat file layout, tab-separated;
downloading it marks them told by file.
"""

from __future__ import annotations

import csv
import datetime as dt
import http.cookiejar
import io
import logging
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.models import Tenant
from orders.copy import save_events
from orders.events import Actor, order_mall_push_event
from orders.locks import locked
from orders.models import Order
from orders.sets import chunked, ids_in, order_stub, order_stubs
from shipping.models import Carrier, Shipment

from ..connectors.amazon import CARRIER_CODES
from ..connectors.base import AuthFailed, MallError, Parcel, RateLimited, ShipmentRefused
from ..constants import MallKind
from ..crypto import CredentialsUnreadable
from ..models import NOT_TOLD, RETRYABLE, ReportState, ShipmentReport, Shop
from .connectors import connector_build, has_connector
from .shops import shop_credentials_renewed

logger = logging.getLogger(__name__)

ACTOR = Actor.system("mall_push")
STALE_SENDING = dt.timedelta(minutes=10)  # a row "sending" this long belongs to a worker that died
BACKOFF_MAX = 30 * 60.0
FILE_COLUMNS = (
    "order-id",
    "order-item-id",
    "quantity",
    "ship-date",
    "carrier-code",
    "carrier-name",
    "tracking-number",
    "ship-method",
)
CARRIER_NAMES = {  # the flat file's carrier-name, as the carriers call themselves
    Carrier.YAMATO: "ヤマト運輸",
    Carrier.SAGAWA: "佐川急便",
    Carrier.JAPAN_POST: "日本郵便",
    Carrier.OTHER: "その他",
}


_local = threading.local()


def _http_client() -> httpx.Client:
    """One HTTP client per worker thread, kept across sends: building one costs an SSL context (tens of ms of
    CPU), and a kept connection spares the mall a handshake per report. It keeps no cookies, so nothing one
    shop's mall sets ever reaches another shop's request."""
    client = getattr(_local, "client", None)
    if client is None:
        jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        client = _local.client = httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0), cookies=jar)
    return client


def _max_wait() -> float:
    """How long one request in a send waits on a 429 or a 5xx before the task's own retry takes over."""
    return float(getattr(settings, "SHOPS_REPORT_MAX_WAIT", 30.0))


def _backoff(attempts: int) -> float:
    """The task's wait before the next try after an unavailable mall: SHOPS_REPORT_BACKOFF doubled per attempt."""
    base = float(getattr(settings, "SHOPS_REPORT_BACKOFF", 30.0))
    return min(base * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def api_shop_ids(shops: Iterable[Shop]) -> set[int]:
    """The shops whose reports go through the mall's API: a connector with the call, and credentials set."""
    return {shop.pk for shop in shops if shop.credentials and has_connector(shop.mall)}


# --- from the shipping hook -----------------------------------------------------------------------------------


def _parcels(rows: Iterable[tuple[str, str, dt.date | None]]) -> list[dict[str, str]]:
    return [
        {"carrier": carrier, "number": number, "shipped_on": shipped_on.isoformat() if shipped_on else ""}
        for carrier, number, shipped_on in rows
    ]


def _mall_orders(order: tuple[int, int, str]) -> list[tuple[int, str]]:
    """(shop, mall order number) pairs an order reports to. Today its own; issue 17's bundles and splits add the
    original mall orders of a bundled parcel here, each becoming a row of its own."""
    _pk, shop_id, external_id = order
    return [(shop_id, external_id)]


def reports_queue(tenant_id: int, order_ids: list[int], actor: Actor) -> None:
    """The shipping hook (shipping.hooks.on_shipments_recorded): inside the transaction that recorded new
    parcels, make or refresh the report rows of these orders and send the pending ones of API shops to the
    workers once it commits. A fixed few queries per chunk of orders."""
    del actor  # the report is the system's (mall_push), whoever recorded the parcels
    to_send: list[int] = []
    now = timezone.now()
    for chunk in chunked(sorted(set(order_ids))):
        orders = list(
            Order.objects.for_tenant(tenant_id)
            .filter(ids_in("id", chunk))
            .exclude(shop__mall=MallKind.MANUAL)  # phone and FAX orders have no mall to tell
            .values_list("pk", "shop_id", "external_id")
        )
        if not orders:
            continue
        parcels: dict[int, list[tuple[str, str, dt.date | None]]] = {}
        for order_id, carrier, number, shipped_on in (
            Shipment.objects.for_tenant(tenant_id)
            .filter(ids_in("order_id", chunk))
            .order_by("order_id", "pk")
            .values_list("order_id", "carrier", "tracking_number", "shipped_on")
        ):
            parcels.setdefault(order_id, []).append((carrier, number, shipped_on))
        existing = {
            (row.order_id, row.shop_id, row.mall_order): row
            for row in ShipmentReport.objects.for_tenant(tenant_id)
            .filter(ids_in("order_id", chunk))
            .only("pk", "order_id", "shop_id", "mall_order", "state", "numbers", "told")
        }
        new: list[ShipmentReport] = []
        changed: list[ShipmentReport] = []
        for order in orders:
            numbers = _parcels(parcels.get(order[0], []))
            if not numbers:
                continue
            for shop_id, mall_order in _mall_orders(order):
                row = existing.get((order[0], shop_id, mall_order))
                if row is None:
                    new.append(
                        ShipmentReport(
                            tenant_id=tenant_id,
                            order_id=order[0],
                            shop_id=shop_id,
                            mall_order=mall_order,
                            numbers=numbers,
                            updated_at=now,
                        )
                    )
                    continue
                if row.numbers == numbers:
                    continue
                row.numbers, row.updated_at = numbers, now
                if _untold(row) and row.state in (ReportState.TOLD, ReportState.BY_FILE, *RETRYABLE):
                    row.state, row.attempts = ReportState.PENDING, 0  # a parcel the mall has not heard of
                changed.append(row)
        ShipmentReport.objects.bulk_create(new, batch_size=1000)
        ShipmentReport.objects.bulk_update(changed, ["numbers", "state", "attempts", "updated_at"], batch_size=1000)
        pending = [row for row in [*new, *changed] if row.state == ReportState.PENDING]
        if pending:
            shops = Shop.objects.for_tenant(tenant_id).filter(pk__in={row.shop_id for row in pending})
            api = api_shop_ids(shops)
            to_send.extend(row.pk for row in pending if row.shop_id in api)
    if to_send:
        transaction.on_commit(lambda: _enqueue(to_send))


def _enqueue(report_ids: list[int]) -> None:
    from ..tasks import report_shipment_enqueue  # the task module imports this one

    for report_id in report_ids:
        report_shipment_enqueue(report_id)


def _untold(row: ShipmentReport) -> list[dict[str, str]]:
    told = {parcel["number"] for parcel in row.told}
    return [parcel for parcel in row.numbers if parcel["number"] not in told]


# --- one send --------------------------------------------------------------------------------------------------


@dataclass
class SendOutcome:
    report: int
    state: str  # the row's state now, or "busy" (another delivery holds it) / "missing"
    retry_in: float | None = None  # the task tries again after this many seconds
    answer: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _claim(report_id: int) -> tuple[ShipmentReport | None, str]:
    """Take the row for this send: SKIP LOCKED, then "sending" in its own short transaction, so the HTTP call
    runs with no lock held and a second delivery finds the row taken."""
    with transaction.atomic():
        row = locked(ShipmentReport.objects.filter(pk=report_id), skip_locked=True).first()
        if row is None:
            exists = ShipmentReport.objects.filter(pk=report_id).exists()
            return None, "busy" if exists else "missing"
        stale = row.state == ReportState.SENDING and timezone.now() - row.updated_at > STALE_SENDING
        if row.state != ReportState.PENDING and not stale:
            return None, row.state
        if not _untold(row):
            row.state, row.updated_at = ReportState.TOLD, timezone.now()
            row.save(update_fields=["state", "updated_at"])
            return None, row.state
        row.state, row.attempts, row.updated_at = ReportState.SENDING, row.attempts + 1, timezone.now()
        row.save(update_fields=["state", "attempts", "updated_at"])
        return row, row.state


def shipment_report_send(*, report_id: int, final: bool = False) -> SendOutcome:
    """Send one report's untold parcels to its mall (see the module docstring). `final`: the task's last try,
    after which a rate limit or an unavailable mall is recorded as failed rather than tried again."""
    row, state = _claim(report_id)
    if row is None:
        return SendOutcome(report_id, state)
    parcels = _untold(row)
    shop = Shop.objects.get(pk=row.shop_id)
    try:
        connector = connector_build(
            shop,
            on_credentials=lambda values: shop_credentials_renewed(shop_id=shop.pk, values=values),
            max_wait=_max_wait(),
            client=_http_client(),
        )
        answer = connector.report_shipment(
            mall_order=row.mall_order,
            parcels=[
                Parcel(p["carrier"], p["number"], dt.date.fromisoformat(p["shipped_on"]) if p["shipped_on"] else
                       timezone.localdate())
                for p in parcels
            ],
        )  # fmt: skip
    except ShipmentRefused as error:
        return _record(row, ReportState.REFUSED, str(error), parcels=parcels)
    except RateLimited as error:
        if final:
            return _record(row, ReportState.FAILED, str(error), parcels=parcels)
        return _record(row, ReportState.PENDING, str(error), parcels=parcels, retry_in=max(error.retry_after, 1.0))
    except (AuthFailed, CredentialsUnreadable) as error:
        return _record(row, ReportState.FAILED, str(error) or _("The shop's credentials cannot be read."), parcels)
    except (LookupError, NotImplementedError):
        # No API for this mall (any more): the row waits for the shop's file.
        return _record(row, ReportState.PENDING, _("This mall is told by file."), parcels=parcels)
    except MallError as error:  # unavailable, or an answer that could not be read: worth another try
        if final:
            return _record(row, ReportState.FAILED, str(error), parcels=parcels)
        return _record(row, ReportState.PENDING, str(error), parcels=parcels, retry_in=_backoff(row.attempts))
    except Exception as error:  # never leave a row "sending" for a bug: record it, log it
        logger.exception("shipment report %s failed", report_id)
        return _record(row, ReportState.FAILED, _("Unexpected error: %(error)r") % {"error": error}, parcels)
    return _record(row, ReportState.TOLD, answer, parcels=parcels)


def _record(
    row: ShipmentReport,
    state: str,
    answer: str,
    parcels: list[dict[str, str]],
    *,
    retry_in: float | None = None,
) -> SendOutcome:
    """Write what came of a send under the row's lock, with the order's event when it is an outcome (told,
    refused, failed): a transient failure that will be tried again writes none."""
    now = timezone.now()
    with transaction.atomic():
        current = locked(ShipmentReport.objects.filter(pk=row.pk)).select_related("shop").get()
        current.answer, current.updated_at = answer[:4000], now
        if state == ReportState.TOLD:
            current.told = [*current.told, *parcels]
            current.told_at = now
            if _untold(current):  # a parcel recorded while this send was on its way: send again
                state, retry_in = ReportState.PENDING, 0.0
        current.state = state
        current.save(update_fields=["answer", "updated_at", "told", "told_at", "state"])
        if state in (ReportState.TOLD, ReportState.REFUSED, ReportState.FAILED) or (
            state == ReportState.PENDING and retry_in == 0.0
        ):
            order_mall_push_event(
                order=order_stub(current.order_id, current.tenant_id),
                actor=ACTOR,
                push=_push(current, parcels, ok=state != ReportState.REFUSED and state != ReportState.FAILED),
            )
    return SendOutcome(row.pk, state, retry_in, answer)


def _push(row: ShipmentReport, parcels: list[dict[str, str]], *, ok: bool) -> dict[str, Any]:
    return {
        "mall": row.shop.name,
        "mall_order": row.mall_order,
        "numbers": [parcel["number"] for parcel in parcels],
        "ok": ok,
        "answer": row.answer,
    }


# --- the operator's actions -------------------------------------------------------------------------------------


def reports_retry(*, tenant: Tenant, shop: Shop | None = None, order: Order | None = None) -> list[int]:
    """Send again the failed and refused reports of the tenant, of one shop, or of one order, and those left
    behind: stuck "sending" by a dead worker, or pending for STALE_SENDING without a send (a task the broker
    lost, a shop whose credentials were entered after its parcels). They start over with fresh attempts; the
    ones of API shops go to the workers after the commit. Returns the ids sent."""
    stale = Q(state__in=(ReportState.SENDING, ReportState.PENDING), updated_at__lt=timezone.now() - STALE_SENDING)
    rows = ShipmentReport.objects.for_tenant(tenant).filter(Q(state__in=RETRYABLE) | stale)
    if shop is not None:
        rows = rows.filter(shop=shop)
    if order is not None:
        rows = rows.filter(order=order)
    with transaction.atomic():
        taken = list(locked(rows, skip_locked=True).values_list("pk", "shop_id"))
        ids = [pk for pk, _shop in taken]
        ShipmentReport.objects.filter(pk__in=ids).update(
            state=ReportState.PENDING, attempts=0, updated_at=timezone.now()
        )
        api = api_shop_ids(Shop.objects.for_tenant(tenant).filter(pk__in={shop_id for _pk, shop_id in taken}))
        to_send = [pk for pk, shop_id in taken if shop_id in api]
        if to_send:
            transaction.on_commit(lambda: _enqueue(to_send))
    return to_send


def reports_left_behind_send() -> int:
    """Beat, every few minutes, for every tenant: the reports of API shops left pending or "sending" for
    STALE_SENDING (a task the broker lost, a worker that died mid-send, a shop whose credentials came after its
    parcels) go to the workers again, with their attempts kept. Failed and refused reports wait for an operator
    (店舗 → 再送). Returns how many were sent."""
    stale = ShipmentReport.objects.filter(
        state__in=(ReportState.SENDING, ReportState.PENDING), updated_at__lt=timezone.now() - STALE_SENDING
    )
    with transaction.atomic():
        taken = list(locked(stale, skip_locked=True).values_list("pk", "shop_id")[:5000])
        api = api_shop_ids(Shop.objects.filter(pk__in={shop_id for _pk, shop_id in taken}))
        to_send = [pk for pk, shop_id in taken if shop_id in api]
        ShipmentReport.objects.filter(pk__in=to_send).update(state=ReportState.PENDING, updated_at=timezone.now())
        if to_send:
            transaction.on_commit(lambda: _enqueue(to_send))
    return len(to_send)


@dataclass
class ReportFile:
    name: str
    content: bytes
    reports: int


def reports_file(*, tenant: Tenant, shop: Shop) -> ReportFile:
    """The shop's reports not told yet (pending, refused, failed: not one being sent) as a file to upload to the
    mall: Amazon's fulfillment flat file layout (the fallback for every mall), tab-separated, Shift_JIS (cp932)
    with CRLF as Amazon's Japanese templates are, one row per parcel; order-item-id and quantity are left
    blank, which the layout reads as "the whole order". Writing it marks those reports told by file, with the
    order's MALL_NOTIFIED event, in one transaction."""
    now = timezone.now()
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\r\n")
    writer.writerow(FILE_COLUMNS)
    with transaction.atomic():
        rows = list(
            locked(
                ShipmentReport.objects.for_tenant(tenant).filter(shop=shop, state__in=NOT_TOLD - {ReportState.SENDING}),
                skip_locked=True,
            )
        )
        for row in rows:
            for parcel in row.numbers:
                writer.writerow(
                    [
                        row.mall_order,
                        "",
                        "",
                        parcel["shipped_on"],
                        CARRIER_CODES.get(parcel["carrier"], "Other"),
                        CARRIER_NAMES.get(parcel["carrier"], ""),
                        parcel["number"],
                        "",
                    ]
                )
        name = f"shipments-{shop.code}-{timezone.localtime(now):%Y%m%d-%H%M%S}.txt"
        answer = _("Told by file %(name)s") % {"name": name}
        for row in rows:
            row.state, row.told, row.told_at, row.answer, row.updated_at = (
                ReportState.BY_FILE, list(row.numbers), now, answer, now,
            )  # fmt: skip
        ShipmentReport.objects.bulk_update(rows, ["state", "told", "told_at", "answer", "updated_at"], batch_size=1000)
        stubs = order_stubs(tenant)
        save_events(
            [
                order_mall_push_event(
                    order=stubs[row.order_id],
                    actor=ACTOR,
                    push={
                        "mall": shop.name,
                        "mall_order": row.mall_order,
                        "numbers": [parcel["number"] for parcel in row.numbers],
                        "ok": True,
                        "answer": answer,
                    },
                    commit=False,
                )
                for row in rows
            ]
        )
    return ReportFile(name=name, content=buffer.getvalue().encode("cp932", errors="replace"), reports=len(rows))
