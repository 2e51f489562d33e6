"""Shipment requests to outside warehouses (issue 16 item 5, B11).

A shipping store of kind API or CSV is a 3PL. "Request shipment" (the order list's 出荷依頼, an order page's
"request again", or automatically when an order of the store enters the status it names) records one
WarehouseRequest per order (requested) and a WAREHOUSE_REQUESTED event, in one transaction that locks the orders
in id order; the shipping data (what a waybill reads: shipping.services.waybills.waybill_orders) goes out after
the commit, one batch per store, through a Celery task: an API POST of JSON, or one CSV file written into the
store's outbox (a temporary name, then renamed, so the warehouse never reads half a file). A batch that cannot
be sent keeps its payload and is sent again by the next poll; the warehouse knows each request by our id, so a
batch sent twice is one request.

The warehouse's answers — accepted, refused with a reason, shipped with carrier and tracking numbers — come by
polling its API (changes since a cursor) or by answer files in the store's inbox (moved to done/ once read; a
file that cannot be read is named and moved to failed/, a row that cannot be applied is named by file and row,
the rest is applied). Shipped answers take step 3's tracking path (shipping.services.tracking: Shipment rows,
the TRACKING_REGISTERED events, the move to the tenant's status after tracking, the malls told through
shipping.hooks). An answer already applied changes nothing, so reading the same answers twice is harmless.

The protocol, as devtools/fakewarehouse.py serves it:
- POST {base}/v1/shipments, `Authorization: Bearer <token>`, {"batch": "<id>", "shipments": [shipment, …]}
  → 2xx {"received": [request ids]}; per shipment: request_id, order_number, management_number, carrier,
  delivery_method, destination {name, kana, company, phone, postal_code, prefecture, city, address1, address2},
  sender {name, postal_code, address, phone}, items [{name, quantity}], cash_on_delivery (yen, 0 when none),
  delivery_date, delivery_slot.
- GET {base}/v1/answers?after=<cursor> → {"answers": [{request_id, state, reason, remote_id, carrier,
  tracking_numbers, shipped_on}], "cursor": "…", "more": bool}.
- CSV drop: request files with REQUEST_HEADER (one row per order), answer files with ANSWER_HEADER.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import logging
import os
import socket
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backyard.csvtext import CsvRefused, decode
from backyard.models import Tenant
from orders.constants import Stage
from orders.copy import save_events
from orders.events import Actor, order_warehouse_event
from orders.models import Order
from orders.sets import chunked, ids_in, order_stubs
from shipping.formats import WaybillOrder, jis_text
from shipping.models import (
    Carrier,
    CsvEncoding,
    ShipmentSource,
    ShippingStore,
    StoreKind,
    WarehouseBatch,
    WarehouseRequest,
    WarehouseState,
    auto_request_cache_key,
    drop_folder,
)

from .tracking import issued_format_of, rows_for_orders, tracking_plan, tracking_record
from .waybills import waybill_orders

logger = logging.getLogger(__name__)

ACTOR_NAME = "warehouse"  # Actor.system("warehouse"): the warehouse's answers and the automatic requests
TIMEOUT = 15.0
RESEND_AFTER = dt.timedelta(minutes=2)  # an unsent batch older than this goes again with the next poll
KEEP_PROBLEMS = 200
AUTO_CACHE_SECONDS = 300  # a status deleted meanwhile only costs a task that finds nothing to request
REQUEST_HEADER = (
    "依頼番号", "受注番号", "お客様管理番号", "配送業者", "配送方法",
    "お届け先名", "お届け先名カナ", "お届け先会社名", "お届け先電話番号", "お届け先郵便番号",
    "お届け先都道府県", "お届け先市区町村", "お届け先住所1", "お届け先住所2",
    "ご依頼主名", "ご依頼主郵便番号", "ご依頼主住所", "ご依頼主電話番号",
    "品名", "代引金額", "配達希望日", "配達時間帯",
)  # fmt: skip
ANSWER_HEADER = ("依頼番号", "状態", "理由", "倉庫受付番号", "配送業者", "問合せ番号", "出荷日")
STATE_WORDS: dict[str, str] = {
    "accepted": WarehouseState.ACCEPTED, "受付": WarehouseState.ACCEPTED, "受付済": WarehouseState.ACCEPTED,
    "refused": WarehouseState.REFUSED, "不可": WarehouseState.REFUSED, "出荷不可": WarehouseState.REFUSED,
    "shipped": WarehouseState.SHIPPED, "出荷済": WarehouseState.SHIPPED, "出荷済み": WarehouseState.SHIPPED,
}  # fmt: skip
CARRIER_WORDS: dict[str, str] = {
    "yamato": Carrier.YAMATO, "ヤマト運輸": Carrier.YAMATO, "ヤマト": Carrier.YAMATO,
    "sagawa": Carrier.SAGAWA, "佐川急便": Carrier.SAGAWA, "佐川": Carrier.SAGAWA,
    "japanpost": Carrier.JAPAN_POST, "日本郵便": Carrier.JAPAN_POST, "ゆうパック": Carrier.JAPAN_POST,
}  # fmt: skip
RANK = {WarehouseState.REQUESTED: 0, WarehouseState.ACCEPTED: 1, WarehouseState.SHIPPED: 2, WarehouseState.REFUSED: 2}
FINISHED_STAGES = (Stage.SHIPPED, Stage.COMPLETED)


class WarehouseUnreachable(Exception):
    """The warehouse could not be reached or refused the call as a whole; the message says why, in Japanese."""


def warehouse_actor() -> Actor:
    return Actor.system(ACTOR_NAME)


# --- who can be requested ------------------------------------------------------------------------------------


@dataclass
class RequestPlan:
    """The orders that can be requested (with their store) and those that cannot, each with its reason."""

    ready: list[tuple[WaybillOrder, ShippingStore]] = field(default_factory=list)
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (order id, order number, reason)

    def by_store(self) -> list[tuple[ShippingStore, int]]:
        counts: dict[int, int] = defaultdict(int)
        stores: dict[int, ShippingStore] = {}
        for _order, store in self.ready:
            counts[store.pk] += 1
            stores[store.pk] = store
        return [(stores[pk], counts[pk]) for pk in sorted(stores, key=lambda pk: (stores[pk].position, pk))]


def request_plan(*, tenant: Tenant, order_ids: Iterable[int]) -> RequestPlan:
    """Which of the orders can go to their store's warehouse (writes nothing). A few queries per 2,000 orders."""
    ids = sorted(set(order_ids))
    plan = RequestPlan()
    stores = {store.pk: store for store in ShippingStore.objects.for_tenant(tenant)}
    facts: dict[int, tuple[str, int | None, str]] = {}
    open_requests: dict[int, tuple[str, str]] = {}
    for chunk in chunked(ids):
        for pk, number, store_id, stage in (
            Order.objects.for_tenant(tenant)
            .filter(ids_in("id", chunk))
            .values_list("pk", "external_id", "shipping_store_id", "stage")
        ):
            facts[pk] = (number, store_id, stage)
        for order_id, store_name, state in (
            WarehouseRequest.objects.for_tenant(tenant)
            .filter(ids_in("order_id", chunk))
            .exclude(state=WarehouseState.REFUSED)
            .values_list("order_id", "store__name", "state")
        ):
            open_requests[order_id] = (store_name, state)
    candidates = []
    for pk in ids:
        if pk not in facts:
            continue
        number, order_store, stage = facts[pk]
        store = stores.get(order_store) if order_store else None
        reason = ""
        if store is None:
            reason = _("no shipping store is set")
        elif not store.is_outside:
            reason = _("shipping store “%(store)s” is not an outside warehouse") % {"store": store.name}
        elif not store.active:
            reason = _("the link to warehouse “%(store)s” is switched off") % {"store": store.name}
        elif store.link_missing():
            reason = _("warehouse “%(store)s” cannot be reached: %(missing)s") % {
                "store": store.name,
                "missing": store.link_missing(),
            }
        elif pk in open_requests:
            reason = _("already requested from “%(store)s” (%(state)s)") % {
                "store": open_requests[pk][0],
                "state": WarehouseState(open_requests[pk][1]).label,
            }
        elif stage == Stage.CANCELLED:
            reason = _("the order is cancelled")
        elif stage in FINISHED_STAGES:
            reason = _("the order is already shipped")
        if reason:
            plan.refused.append((pk, number, reason))
        else:
            candidates.append(pk)
    for order in waybill_orders(tenant, candidates):
        reason = _missing_data(order)
        if reason:
            plan.refused.append((order.pk, order.external_id, reason))
        else:
            plan.ready.append((order, stores[facts[order.pk][1]]))  # type: ignore[index]
    plan.refused.sort()
    return plan


def _missing_data(order: WaybillOrder) -> str:
    """What a warehouse needs that the order lacks ("" when nothing)."""
    if not order.dest_name.strip():
        return _("the recipient's name is missing")
    if not order.dest_phone.strip():
        return _("the recipient's phone number is missing")
    if not order.dest_postal_code.strip():
        return _("the recipient's postal code is missing")
    if not (order.dest_prefecture.strip() and (order.dest_city.strip() or order.dest_address1.strip())):
        return _("the recipient's address is missing")
    if not order.items:
        return _("the order has no lines")
    return ""


# --- requesting ------------------------------------------------------------------------------------------------


@dataclass
class RequestResult:
    plan: RequestPlan
    requested: int = 0
    batches: list[int] = field(default_factory=list)
    auto_refused: int = 0  # refused requests written for orders an automatic request could not send


def shipment_payload(order: WaybillOrder, request_id: int) -> dict[str, Any]:
    """One order's shipping data as the warehouse receives it (JSON, and the CSV row is made from it)."""
    return {
        "request_id": str(request_id),
        "order_number": order.external_id,
        "management_number": order.management_number,
        "carrier": order.method_carrier,
        "delivery_method": order.method_name,
        "destination": {
            "name": order.dest_name,
            "kana": order.dest_kana,
            "company": order.dest_company,
            "phone": order.dest_phone,
            "postal_code": order.dest_postal_code,
            "prefecture": order.dest_prefecture,
            "city": order.dest_city,
            "address1": order.dest_address1,
            "address2": order.dest_address2,
        },
        "sender": {
            "name": order.sender.name,
            "postal_code": order.sender.postal_code,
            "address": order.sender.address,
            "phone": order.sender.phone,
        },
        "items": [{"name": name, "quantity": quantity} for name, quantity in order.items],
        "cash_on_delivery": order.total if order.cash_on_delivery else 0,
        "delivery_date": order.requested_delivery_date.isoformat() if order.requested_delivery_date else "",
        "delivery_slot": order.delivery_slot,
    }


def _answered_event(order: Order, actor: Actor, store: ShippingStore, request: WarehouseRequest) -> Any:
    return order_warehouse_event(
        order=order, actor=actor, warehouse=_event_data(store, request), requested=False, commit=False
    )


def _event_data(store: ShippingStore, request: WarehouseRequest) -> dict[str, Any]:
    return {
        "warehouse": store.name,
        "request": request.pk,
        "state": request.state,
        "reason": request.reason,
        "numbers": list(request.numbers),
    }


@transaction.atomic
def warehouse_request(*, tenant: Tenant, order_ids: Iterable[int], actor: Actor) -> RequestResult:
    """Request the orders that can be requested, one batch per store; the batches go after the commit. The
    orders are locked in id order (as every bulk writer locks them), and the plan is made under the locks, so
    two requests of the same orders cannot both record them."""
    ids = sorted(set(order_ids))
    for chunk in chunked(ids):
        list(Order.objects.for_tenant(tenant).filter(ids_in("id", chunk)).order_by("pk").select_for_update()
             .values_list("pk", flat=True))  # fmt: skip
    plan = request_plan(tenant=tenant, order_ids=ids)
    result = RequestResult(plan=plan)
    if not plan.ready:
        return result
    now = timezone.now()
    per_store: dict[int, list[WaybillOrder]] = defaultdict(list)
    stores: dict[int, ShippingStore] = {}
    for order, store in plan.ready:
        per_store[store.pk].append(order)
        stores[store.pk] = store
    stubs = order_stubs(tenant)
    events = []
    for store_id, orders in sorted(per_store.items()):
        store = stores[store_id]
        batch = WarehouseBatch.objects.create(tenant=tenant, store=store, order_count=len(orders))
        requests = WarehouseRequest.objects.bulk_create(
            [WarehouseRequest(tenant=tenant, order_id=o.pk, store=store, batch=batch, requested_at=now) for o in orders]
        )
        batch.payload = {
            "batch": str(batch.pk),
            "shipments": [shipment_payload(o, r.pk) for o, r in zip(orders, requests, strict=True)],
        }
        batch.save(update_fields=["payload"])
        events += [
            order_warehouse_event(
                order=stubs[r.order_id], actor=actor, warehouse=_event_data(store, r), requested=True, commit=False
            )
            for r in requests
        ]
        result.batches.append(batch.pk)
        result.requested += len(requests)
    save_events(events)
    _send_after_commit(tenant.pk, result.batches)
    return result


def _send_after_commit(tenant_id: int, batch_ids: list[int]) -> None:
    from ..tasks import send_warehouse_batch  # tasks sit above services: the one call that goes up, at send time

    def send() -> None:
        for batch_id in batch_ids:
            send_warehouse_batch.delay(tenant_id, batch_id)

    if batch_ids:
        transaction.on_commit(send)


def auto_request(*, tenant: Tenant, store_id: int, order_ids: Iterable[int]) -> RequestResult | None:
    """The automatic request of orders that entered the status their store names (shipping.apps registers the
    hook; this runs in a task after the mover's commit). Only orders still of that store and still in that
    status are requested; an order already requested is left alone; an order that cannot be requested gets a
    refused request naming why, so that it shows in the requests page and on the order page."""
    store = ShippingStore.objects.for_tenant(tenant).filter(pk=store_id).first()
    if store is None or store.auto_request_status_id is None or not store.active or not store.is_outside:
        return None
    ids = list(
        Order.objects.for_tenant(tenant)
        .filter(pk__in=sorted(set(order_ids)), shipping_store=store, status_id=store.auto_request_status_id)
        .values_list("pk", flat=True)
    )
    if not ids:
        return None
    actor = warehouse_actor()
    with transaction.atomic():
        result = warehouse_request(tenant=tenant, order_ids=ids, actor=actor)
        # An order already requested is left alone; one whose last request says the same refusal is not refused
        # twice (it entered the status again and nothing changed).
        is_open: set[int] = set()
        last_reason: dict[int, str] = {}
        for order_id, state, reason in (
            WarehouseRequest.objects.for_tenant(tenant)
            .filter(order_id__in=[pk for pk, _n, _r in result.plan.refused])
            .order_by("order_id", "requested_at", "pk")
            .values_list("order_id", "state", "reason")
        ):
            if state != WarehouseState.REFUSED:
                is_open.add(order_id)
            last_reason[order_id] = reason
        now = timezone.now()
        refused = []
        for pk, _number, reason in result.plan.refused:
            text = _("could not be requested automatically: %(reason)s") % {"reason": reason}
            if pk in is_open or last_reason.get(pk) == text:
                continue
            refused.append(
                WarehouseRequest(
                    tenant=tenant,
                    order_id=pk,
                    store=store,
                    state=WarehouseState.REFUSED,
                    reason=text,
                    requested_at=now,
                    answered_at=now,
                )  # fmt: skip
            )
        result.auto_refused = len(refused)
        WarehouseRequest.objects.bulk_create(refused)
        stubs = order_stubs(tenant)
        save_events(
            [
                order_warehouse_event(
                    order=stubs[r.order_id], actor=actor, warehouse=_event_data(store, r), requested=True, commit=False
                )
                for r in refused
            ]
        )
    return result


def auto_request_pairs(tenant_id: int) -> list[tuple[int, int]]:
    """(store id, status id) of the tenant's active outside warehouses that request automatically; from the
    cache (no query on the status moves of a tenant whose warehouses did not change)."""
    key = auto_request_cache_key(tenant_id)
    pairs = cache.get(key)
    if pairs is None:
        pairs = list(
            ShippingStore.objects.filter(tenant_id=tenant_id, auto_request_status__isnull=False, active=True)
            .exclude(kind=StoreKind.OWN)
            .values_list("pk", "auto_request_status_id")
        )
        cache.set(key, pairs, AUTO_CACHE_SECONDS)
    return [(int(store_id), int(status_id)) for store_id, status_id in pairs]


def auto_request_entered(tenant_id: int, entered: dict[int, list[int]], actor: Actor, stages: dict[int, str]) -> None:
    """orders.hooks' "entered a status" hook: the orders that entered a status an outside warehouse names are
    requested by a task after the commit (one query when no store names any of these statuses)."""
    stores = [(store_id, status_id) for store_id, status_id in auto_request_pairs(tenant_id) if status_id in entered]
    if not stores:
        return
    from ..tasks import request_automatically  # tasks sit above services

    def send() -> None:
        for store_id, status_id in stores:
            request_automatically.delay(tenant_id, store_id, entered[status_id])

    transaction.on_commit(send)


# --- sending ---------------------------------------------------------------------------------------------------


def _check_address(url: str) -> None:
    """Refuse an API address that is not http(s) or that leads inside our network (a private, local or
    reserved address), unless WAREHOUSE_ALLOW_PRIVATE_URLS is on."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WarehouseUnreachable(_("the warehouse's API address %(url)s is not an http(s) address") % {"url": url})
    if getattr(settings, "WAREHOUSE_ALLOW_PRIVATE_URLS", False):
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise WarehouseUnreachable(
            _("the warehouse's host %(host)s cannot be found") % {"host": parts.hostname}
        ) from error
    for info in infos:
        if not ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_global:
            raise WarehouseUnreachable(
                _("the warehouse's host %(host)s is not on the internet (a private or local address)")
                % {"host": parts.hostname}
            )


def _client(store: ShippingStore) -> httpx.Client:
    _check_address(store.api_base_url)
    return httpx.Client(
        base_url=store.api_base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {store.api_token}", "Accept": "application/json"},
        timeout=TIMEOUT,
    )


def _http_problem(response: httpx.Response) -> WarehouseUnreachable:
    if response.status_code in (401, 403):
        return WarehouseUnreachable(_("the warehouse did not accept the API token (HTTP %(status)d)")
                                    % {"status": response.status_code})  # fmt: skip
    return WarehouseUnreachable(
        _("the warehouse answered HTTP %(status)d: %(text)s")
        % {"status": response.status_code, "text": response.text[:200]}  # fmt: skip
    )


def _api_send(store: ShippingStore, payload: dict[str, Any]) -> None:
    try:
        with _client(store) as client:
            response = client.post("/v1/shipments", json=payload)
    except httpx.HTTPError as error:
        raise WarehouseUnreachable(_("the warehouse could not be reached: %(error)s") % {"error": error}) from error
    if not response.is_success:
        raise _http_problem(response)


def _csv_cell(text: object, encoding: str) -> str:
    value = str(text)
    return jis_text(value)[0] if encoding == CsvEncoding.CP932 else value.replace("\r", " ").replace("\n", " ")


def request_rows(payload: dict[str, Any], encoding: str) -> list[list[str]]:
    """The CSV rows of a batch, one per order (REQUEST_HEADER)."""
    rows = []
    for s in payload.get("shipments", []):
        d, f = s["destination"], s["sender"]
        items = "／".join(f"{item['name']}×{item['quantity']}" for item in s["items"])
        cells = [
            s["request_id"], s["order_number"], s["management_number"], s["carrier"], s["delivery_method"],
            d["name"], d["kana"], d["company"], d["phone"], d["postal_code"], d["prefecture"], d["city"],
            d["address1"], d["address2"], f["name"], f["postal_code"], f["address"], f["phone"], items,
            s["cash_on_delivery"], s["delivery_date"], s["delivery_slot"],
        ]  # fmt: skip
        rows.append([_csv_cell(cell, encoding) for cell in cells])
    return rows


def _csv_write(store: ShippingStore, batch: WarehouseBatch) -> str:
    """One file per batch into the outbox, written under a hidden temporary name and renamed: the warehouse
    (or the program that syncs the folder) never sees half a file."""
    try:
        outbox = drop_folder(store.csv_outbox)
        outbox.mkdir(parents=True, exist_ok=True)
        name = f"request-{store.code}-{batch.pk:08d}.csv"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(REQUEST_HEADER)
        writer.writerows(request_rows(batch.payload, store.csv_encoding))
        temporary = outbox / f".{name}.tmp"
        temporary.write_bytes(buffer.getvalue().encode(store.csv_encoding, errors="replace"))
        os.replace(temporary, outbox / name)
    except (OSError, ValueError) as error:
        raise WarehouseUnreachable(
            _("the request file could not be written into %(folder)s: %(error)s")
            % {"folder": store.csv_outbox, "error": error}
        ) from error
    return name


def batch_send(*, tenant: Tenant, batch_id: int) -> bool:
    """Send a batch not yet sent (True when it went now). WarehouseUnreachable (after recording the error on
    the batch) when it could not: the task retries, and the poll sends it again later."""
    batch = WarehouseBatch.objects.for_tenant(tenant).select_related("store").filter(pk=batch_id).first()
    if batch is None or batch.sent_at is not None:
        return False
    store = batch.store
    try:
        if not store.active:
            raise WarehouseUnreachable(_("the link to warehouse “%(store)s” is switched off") % {"store": store.name})
        if store.link_missing():
            raise WarehouseUnreachable(store.link_missing())
        filename = ""
        if store.kind == StoreKind.API:
            _api_send(store, batch.payload)
        else:
            filename = _csv_write(store, batch)
    except WarehouseUnreachable as error:
        WarehouseBatch.objects.filter(pk=batch.pk).update(attempts=F("attempts") + 1, error=str(error))
        raise
    # The payload holds customers' addresses: dropped once it has gone.
    WarehouseBatch.objects.filter(pk=batch.pk, sent_at__isnull=True).update(
        sent_at=timezone.now(), payload={}, error="", attempts=F("attempts") + 1, filename=filename
    )
    return True


def batches_resend(*, tenant: Tenant, store: ShippingStore) -> int:
    """Send again the store's batches that did not go (the worker was down, the warehouse unreachable)."""
    sent = 0
    stale = timezone.now() - RESEND_AFTER
    pending = WarehouseBatch.objects.for_tenant(tenant).filter(store=store, sent_at__isnull=True, created_at__lt=stale)
    for batch_id in pending.order_by("pk").values_list("pk", flat=True):
        try:
            sent += batch_send(tenant=tenant, batch_id=batch_id)
        except WarehouseUnreachable:
            break  # the next poll tries again
    return sent


# --- answers ---------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    """A warehouse's answer about one request; `where` names it for the operator (file and row, or API)."""

    request_id: str
    state: str
    where: str
    reason: str = ""
    remote_id: str = ""
    carrier: str = ""
    numbers: list[str] = field(default_factory=list)
    shipped_on: dt.date | None = None


@dataclass
class Applied:
    changed: int = 0
    unchanged: int = 0
    shipped: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Applied) -> None:
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.shipped += other.shipped
        self.problems += other.problems


def _date(text: str) -> dt.date | None:
    text = unicodedata.normalize("NFKC", text or "").strip()
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    return None


def answer_of(values: dict[str, Any], where: str) -> Answer:
    """An answer from the API's JSON or a CSV row's cells; ValueError naming what is wrong."""
    request_id = unicodedata.normalize("NFKC", str(values.get("request_id") or "")).strip()
    if not request_id:
        raise ValueError(_("no request number"))
    word = unicodedata.normalize("NFKC", str(values.get("state") or "")).strip()
    state = STATE_WORDS.get(word.lower(), STATE_WORDS.get(word, ""))
    if not state:
        raise ValueError(_("unknown state “%(state)s”") % {"state": word})
    numbers = values.get("tracking_numbers") or []
    if isinstance(numbers, str):
        numbers = [n for n in numbers.replace("、", ",").replace(";", ",").split(",") if n.strip()]
    carrier_word = unicodedata.normalize("NFKC", str(values.get("carrier") or "")).strip()
    shipped_on = str(values.get("shipped_on") or "")
    answer = Answer(
        request_id=request_id,
        state=state,
        where=where,
        reason=str(values.get("reason") or "").strip(),
        remote_id=str(values.get("remote_id") or "").strip()[:100],
        carrier=CARRIER_WORDS.get(carrier_word.lower(), CARRIER_WORDS.get(carrier_word, "")),
        numbers=[str(n).strip() for n in numbers if str(n).strip()],
        shipped_on=_date(shipped_on),
    )
    if state == WarehouseState.SHIPPED:
        if not answer.carrier:
            raise ValueError(_("shipped with an unknown carrier “%(carrier)s”") % {"carrier": carrier_word})
        if not answer.numbers:
            raise ValueError(_("shipped without a tracking number"))
        if shipped_on.strip() and answer.shipped_on is None:
            raise ValueError(_("the ship date “%(date)s” is not a date") % {"date": shipped_on})
    return answer


def answers_apply(*, tenant: Tenant, store: ShippingStore, answers: list[Answer], actor: Actor) -> Applied:
    """Apply the answers about this store's requests in one transaction: accepted and refused at once, shipped
    through the tracking path; an answer that cannot be applied is named and the others are applied. An answer
    that says what the request already says changes nothing."""
    applied = Applied()
    with transaction.atomic():
        wanted = sorted({int(a.request_id) for a in answers if a.request_id.isdigit()})
        requests = {
            r.pk: r
            for r in WarehouseRequest.objects.for_tenant(tenant)
            .filter(store=store, pk__in=wanted)
            .order_by("pk")
            .select_for_update()
        }
        changed: dict[int, WarehouseRequest] = {}
        shipped: list[tuple[Answer, WarehouseRequest]] = []
        now = timezone.now()
        events = []
        stubs = order_stubs(tenant)
        for answer in answers:
            request = requests.get(int(answer.request_id)) if answer.request_id.isdigit() else None
            if request is None:
                applied.problems.append(
                    _("%(where)s: request %(id)s is not one of this warehouse's requests")
                    % {"where": answer.where, "id": answer.request_id}
                )
                continue
            if (
                answer.state == request.state
                or RANK[WarehouseState(answer.state)] < RANK[WarehouseState(request.state)]
            ):
                applied.unchanged += 1  # already known, or an older answer read late
                continue
            if RANK[WarehouseState(request.state)] == 2:
                applied.problems.append(
                    _("%(where)s: request %(id)s is already %(state)s; the answer “%(answer)s” is not applied")
                    % {
                        "where": answer.where,
                        "id": request.pk,
                        "state": request.get_state_display(),
                        "answer": WarehouseState(answer.state).label,
                    }  # fmt: skip
                )
                continue
            if answer.state == WarehouseState.SHIPPED:
                shipped.append((answer, request))
                continue
            request.state = answer.state
            request.reason = answer.reason if answer.state == WarehouseState.REFUSED else ""
            request.remote_id = answer.remote_id or request.remote_id
            request.answered_at = now
            changed[request.pk] = request
            events.append(_answered_event(stubs[request.order_id], actor, store, request))
        for answer, request in _shipments_record(tenant=tenant, shipped=shipped, applied=applied, actor=actor):
            request.state = WarehouseState.SHIPPED
            request.reason = ""
            request.remote_id = answer.remote_id or request.remote_id
            request.carrier = answer.carrier
            request.numbers = answer.numbers
            request.answered_at = now
            changed[request.pk] = request
            applied.shipped += 1
            events.append(_answered_event(stubs[request.order_id], actor, store, request))
        WarehouseRequest.objects.bulk_update(
            list(changed.values()), ["state", "reason", "remote_id", "carrier", "numbers", "answered_at"]
        )
        save_events(events)
        applied.changed += len(changed)
    return applied


def _shipments_record(
    *, tenant: Tenant, shipped: list[tuple[Answer, WarehouseRequest]], applied: Applied, actor: Actor
) -> list[tuple[Answer, WarehouseRequest]]:
    """Shipped answers through the tracking path, per carrier; an answer one of whose numbers cannot be
    recorded (wrong shape, another order's) is named and not applied at all. The answers recorded."""
    recorded: list[tuple[Answer, WarehouseRequest]] = []
    by_carrier: dict[str, list[int]] = defaultdict(list)
    for index, (answer, _request) in enumerate(shipped):
        by_carrier[answer.carrier].append(index)
    for carrier, indexes in sorted(by_carrier.items()):
        fmt = issued_format_of(carrier)
        if fmt is None:
            applied.problems += [
                _("%(where)s: tracking numbers of this carrier are not recorded") % {"where": shipped[i][0].where}
                for i in indexes
            ]
            continue
        lines: dict[int, int] = {}  # line → index into shipped
        entries = []
        for index in indexes:
            answer, request = shipped[index]
            for number in answer.numbers:
                line = len(lines) + 1
                lines[line] = index
                entries.append((line, request.order_id, number, answer.shipped_on))
        rows = rows_for_orders(tenant=tenant, entries=entries)
        bad: dict[int, str] = {}
        for line, reason in tracking_plan(tenant=tenant, fmt=fmt, rows=rows).problems:
            bad.setdefault(lines[line], reason)
        for index, reason in sorted(bad.items()):
            applied.problems.append(
                _("%(where)s: %(reason)s; the answer is not applied")
                % {"where": shipped[index][0].where, "reason": reason}  # fmt: skip
            )
        good = [row for row in rows if lines[row.line] not in bad]
        if good:
            plan = tracking_plan(tenant=tenant, fmt=fmt, rows=good)
            tracking_record(tenant=tenant, plan=plan, actor=actor, source=ShipmentSource.WAREHOUSE)
            applied.problems += [
                _("order %(number)s got its tracking number but did not move: %(reason)s")
                % {"number": number, "reason": reason}
                for _order_id, number, reason in plan.refused_moves
            ]
        recorded += [shipped[i] for i in indexes if i not in bad]
    return recorded


# --- reading answers -------------------------------------------------------------------------------------------


def _api_answers(store: ShippingStore) -> tuple[list[Answer], list[str], str]:
    """Every answer since the store's cursor, page by page: (answers, problems, the cursor after them)."""
    answers: list[Answer] = []
    problems: list[str] = []
    cursor = store.api_cursor
    try:
        with _client(store) as client:
            for _page in range(100):
                response = client.get("/v1/answers", params={"after": cursor} if cursor else {})
                if not response.is_success:
                    raise _http_problem(response)
                data = response.json()
                if not isinstance(data, dict) or not isinstance(data.get("answers"), list):
                    raise WarehouseUnreachable(_("the warehouse's answer is not the expected JSON"))
                for position, values in enumerate(data["answers"], start=1):
                    where = _("API answer %(n)s") % {"n": values.get("seq", position) if isinstance(values, dict)
                                                      else position}  # fmt: skip
                    try:
                        if not isinstance(values, dict):
                            raise ValueError(_("not an object"))
                        answers.append(answer_of(values, where))
                    except ValueError as error:
                        problems.append(_("%(where)s: %(problem)s") % {"where": where, "problem": error})
                cursor = str(data.get("cursor") or cursor)
                if not data.get("more"):
                    break
    except httpx.HTTPError as error:
        raise WarehouseUnreachable(_("the warehouse could not be reached: %(error)s") % {"error": error}) from error
    except ValueError as error:  # a body that is not JSON
        raise WarehouseUnreachable(_("the warehouse's answer is not the expected JSON")) from error
    return answers, problems, cursor


def answer_file_rows(name: str, data: bytes) -> tuple[list[Answer], list[str]]:
    """The answers of one answer file and the rows that cannot be read (by file name and row number);
    CsvRefused when the file as a whole cannot be read."""
    decoded = decode(data)
    records = list(csv.reader(io.StringIO(decoded.text, newline=""), delimiter=decoded.delimiter))
    header = [cell.strip().lstrip("\ufeff") for cell in records[0]] if records else []
    missing = [column for column in ANSWER_HEADER[:2] if column not in header]
    if missing:
        raise CsvRefused(
            _("this is not a warehouse answer file: the columns %(names)s are missing")
            % {"names": "、".join(f"「{column}」" for column in missing)}
        )
    keys = ("request_id", "state", "reason", "remote_id", "carrier", "tracking_numbers", "shipped_on")
    at = {key: header.index(column) for key, column in zip(keys, ANSWER_HEADER, strict=True) if column in header}
    answers, problems = [], []
    for line, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        where = _("%(file)s row %(line)d") % {"file": name, "line": line}
        values = {key: record[i] if i < len(record) else "" for key, i in at.items()}
        try:
            answers.append(answer_of(values, where))
        except ValueError as error:
            problems.append(_("%(where)s: %(problem)s") % {"where": where, "problem": error})
    return answers, problems


def _moved(path: Path, folder: str) -> None:
    target = path.parent / folder
    target.mkdir(exist_ok=True)
    os.replace(path, target / path.name)


def _inbox_read(tenant: Tenant, store: ShippingStore, actor: Actor) -> Applied:
    """Each answer file of the inbox, oldest name first, in a transaction of its own; moved to done/ once
    applied (failed/ when it cannot be read at all)."""
    applied = Applied()
    try:
        inbox = drop_folder(store.csv_inbox)
        paths = (
            sorted(p for p in inbox.glob("*") if p.is_file() and not p.name.startswith(".")) if inbox.is_dir() else []
        )
    except (OSError, ValueError) as error:
        raise WarehouseUnreachable(_("the answer folder %(folder)s cannot be read: %(error)s")
                                   % {"folder": store.csv_inbox, "error": error}) from error  # fmt: skip
    for path in paths:
        try:
            answers, problems = answer_file_rows(path.name, path.read_bytes())
        except (CsvRefused, OSError) as error:
            applied.problems.append(_("%(file)s: %(error)s (moved to failed/)") % {"file": path.name, "error": error})
            _moved(path, "failed")
            continue
        result = answers_apply(tenant=tenant, store=store, answers=answers, actor=actor)
        result.problems = problems + result.problems
        applied.add(result)
        _moved(path, "done")
    return applied


def store_poll(*, tenant: Tenant, store_id: int) -> Applied:
    """Read the store's new answers and apply them; send again what did not go. The outcome's problems are
    kept on the store for the requests page."""
    store = ShippingStore.objects.for_tenant(tenant).filter(pk=store_id).first()
    if store is None or not store.is_outside or not store.active or store.link_missing():
        return Applied()
    actor = warehouse_actor()
    applied = Applied()
    try:
        batches_resend(tenant=tenant, store=store)
        if store.kind == StoreKind.API:
            answers, problems, cursor = _api_answers(store)
            with transaction.atomic():
                applied = answers_apply(tenant=tenant, store=store, answers=answers, actor=actor)
                applied.problems = problems + applied.problems
                ShippingStore.objects.filter(pk=store.pk).update(api_cursor=cursor)
        else:
            applied = _inbox_read(tenant, store, actor)
    except WarehouseUnreachable as error:
        applied.problems.append(str(error))
    if applied.problems:
        logger.warning("warehouse %s of tenant %s: %s", store.code, tenant.pk, "; ".join(applied.problems[:20]))
    ShippingStore.objects.filter(pk=store.pk).update(polled_at=timezone.now(),
                                                     poll_problems=applied.problems[:KEEP_PROBLEMS])  # fmt: skip
    return applied


def stores_to_poll() -> list[tuple[int, int]]:
    """(tenant id, store id) of every active outside warehouse."""
    return list(
        ShippingStore.objects.filter(active=True)
        .exclude(kind=StoreKind.OWN)
        .order_by("tenant_id", "pk")
        .values_list("tenant_id", "pk")
    )
