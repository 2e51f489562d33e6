"""A test-only mall: a tiny JSON API served over real HTTP by `FakeMall`, and `FakeConnector` (kind "fake",
registered in the connector registry on import) that pages through it. The polling tests use it to script
what a mall does (pages, a change, a cancellation, a malformed order, a 429, a 500, an expired token, a slow
answer) without depending on one real mall's details; the real malls' connectors have their own tests
against their own fake malls.

The API: `GET /orders?cursor=N&limit=L` with `Authorization: Bearer <api_key>` answers
`{"orders": [...], "cursor": "M", "more": true|false}`: the orders whose change number is above N, oldest
change first. A change to an order gives it a new change number, so it comes again after the cursor (as
`updated_at_min` does at a real mall). `POST /token` with `{"refresh_token": …}` renews an expired key.

Start a worker that knows the kind with `celery -A backyard worker --include tests.shops.fakeconnector`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

from shops.connectors import register
from shops.connectors.base import AuthFailed, Connector, FailedOrder, ImportedLine, ImportedOrder, Page

KIND = "fake"
JST = dt.timezone(dt.timedelta(hours=9))


@register
class FakeConnector(Connector):
    kind: ClassVar[str] = KIND
    default_base_url: ClassVar[str] = "http://127.0.0.1:9"
    credential_fields: ClassVar[tuple[str, ...]] = ("seller_id", "api_key", "refresh_token")
    secret_fields: ClassVar[tuple[str, ...]] = ("api_key", "refresh_token")
    RETRIES: ClassVar[int] = 0  # a 5xx is MallUnavailable at once: the tests need not sleep
    PAGE_SIZE: ClassVar[int] = 3

    def pages(self, cursor: str) -> Iterator[Page]:
        position = cursor or "0"
        while True:
            response = self._get(position)
            data = response.json()
            yield Page(orders=[parse(raw) for raw in data["orders"]], cursor=str(data["cursor"]))
            position = str(data["cursor"])
            if not data["more"]:
                return

    def _get(self, position: str) -> Any:
        for attempt in range(2):
            response = self.request(
                "GET",
                f"{self.base_url}/orders",
                params={"cursor": position, "limit": self.PAGE_SIZE},
                headers={"Authorization": f"Bearer {self.credentials.get('api_key', '')}"},
            )
            if response.status_code != 401:
                response.raise_for_status()
                return response
            if attempt or not self.credentials.get("refresh_token"):
                raise AuthFailed(f"401: {response.text}")
            renewed = self.request(
                "POST", f"{self.base_url}/token", json={"refresh_token": self.credentials["refresh_token"]}
            )
            if renewed.status_code != 200:
                raise AuthFailed(f"token renewal refused: {renewed.status_code}")
            self.credentials["api_key"] = renewed.json()["api_key"]
            self.on_credentials(dict(self.credentials))
        raise AssertionError("unreachable")


def parse(raw: dict[str, Any]) -> ImportedOrder | FailedOrder:
    """One order of the fake API; anything it cannot read is a FailedOrder with the raw text."""
    try:
        return ImportedOrder(
            external_id=str(raw["id"]),
            ordered_at=dt.datetime.fromisoformat(raw["ordered_at"]),
            mall_status=raw.get("status", "paid"),
            cancelled=raw.get("status") == "cancelled",
            payment_code=raw.get("payment", ""),
            delivery_name=raw.get("delivery", ""),
            orderer_name=raw["buyer"]["name"],
            orderer_kana=raw["buyer"].get("kana", ""),
            orderer_email=raw["buyer"].get("email", ""),
            orderer_phone=raw["buyer"].get("phone", ""),
            dest_name=raw["ship_to"]["name"],
            dest_phone=raw["ship_to"].get("phone", ""),
            dest_postal_code=raw["ship_to"]["zip"],
            dest_prefecture=raw["ship_to"]["prefecture"],
            dest_city=raw["ship_to"]["city"],
            dest_address1=raw["ship_to"]["address1"],
            dest_address2=raw["ship_to"].get("address2", ""),
            shipping_fee=int(raw.get("shipping_fee", 0)),
            remarks=raw.get("remarks", ""),
            total=raw.get("total"),
            lines=tuple(
                ImportedLine(
                    sku=line["sku"],
                    name=line["name"],
                    unit_price=int(line["price"]),
                    quantity=int(line["qty"]),
                    tax_rate=int(line.get("tax", 10)),
                )
                for line in raw["lines"]
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        return FailedOrder(
            external_id=str(raw.get("id", "")) if isinstance(raw, dict) else "",
            reason=f"cannot read the order: {error!r}",
            payload=json.dumps(raw, ensure_ascii=False),
        )


def sample_order(number: int, **changes: Any) -> dict[str, Any]:
    """An order as the fake API sends it: a Tokyo customer paying by card, two lines."""
    order = {
        "id": f"F-{number:05d}",
        "ordered_at": dt.datetime(2026, 11, 1, 10, 0, tzinfo=JST).replace(minute=number % 60).isoformat(),
        "status": "paid",
        "payment": "card",
        "delivery": "",
        "buyer": {
            "name": "山田 太郎",
            "kana": "ヤマダ タロウ",
            "email": f"buyer{number}@example.jp",
            "phone": "03-1234-5678",
        },
        "ship_to": {
            "name": "山田 太郎",
            "phone": "03-1234-5678",
            "zip": "100-0005",
            "prefecture": "東京都",
            "city": "千代田区",
            "address1": "丸の内1-1-1",
        },
        "shipping_fee": 600,
        "remarks": "",
        "lines": [
            {"sku": "TEA-001", "name": "有機緑茶 100g", "price": 1080, "qty": 2, "tax": 8},
            {"sku": "CUP-010", "name": "有田焼 湯呑み", "price": 2750, "qty": 1, "tax": 10},
        ],
    }
    order.update(changes)
    return order


class FakeMall:
    """The fake API on a free local port: `start()`, `stop()`, `url`, `add_orders(n)`, plus what the tests
    script: `change(number, **fields)`, `add_raw(order)`, `fail_next(status, times)`, `expire_key()`,
    `hold()` / `release()` (answers wait until released, to keep a poll in flight)."""

    API_KEY = "key-0001-secret"
    REFRESH_TOKEN = "refresh-0001-secret"

    def __init__(self) -> None:
        self.orders: list[tuple[int, dict[str, Any]]] = []  # (change number, order)
        self.sequence = 0
        self.api_key = self.API_KEY
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.requests: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # --- lifecycle
    def start(self) -> FakeMall:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-mall", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.gate.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def credentials(self) -> dict[str, str]:
        return {"seller_id": "seller-1", "api_key": self.API_KEY, "refresh_token": self.REFRESH_TOKEN}

    # --- what the tests script
    def add_orders(self, n: int, **changes: Any) -> list[str]:
        with self.lock:
            start = len(self.orders) + 1
            numbers = []
            for number in range(start, start + n):
                self.sequence += 1
                order = sample_order(number, **changes)
                self.orders.append((self.sequence, order))
                numbers.append(order["id"])
            return numbers

    def add_raw(self, order: dict[str, Any]) -> None:
        with self.lock:
            self.sequence += 1
            self.orders.append((self.sequence, order))

    def change(self, external_id: str, **changes: Any) -> None:
        """A change at the mall: the order comes again after every cursor saved so far."""
        with self.lock:
            for index, (_seq, order) in enumerate(self.orders):
                if order.get("id") == external_id:
                    changed = copy.deepcopy(order)
                    changed.update(changes)
                    self.sequence += 1
                    self.orders.pop(index)
                    self.orders.append((self.sequence, changed))
                    return
        raise KeyError(external_id)

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.failures.extend([(status, headers or {})] * times)

    def expire_key(self) -> None:
        self.api_key = "renewed-" + self.api_key

    def hold(self) -> None:
        self.waiting.clear()
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    # --- answering
    def answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        self.requests.append(f"{method} {path}")
        if method == "POST" and path == "/token":
            sent = json.loads(body or b"{}")
            if sent.get("refresh_token") != self.REFRESH_TOKEN:
                return 401, {}, {"error": "bad refresh token"}
            return 200, {}, {"api_key": self.api_key}
        self.waiting.set()
        self.gate.wait(timeout=60)
        with self.lock:
            if self.failures:
                status, extra = self.failures.pop(0)
                return status, extra, {"error": f"scripted {status}"}
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {}, {"error": "expired or wrong key"}
        if method != "GET" or path != "/orders":
            return 404, {}, {"error": "not found"}
        after = int(query.get("cursor", ["0"])[0] or 0)
        limit = int(query.get("limit", ["3"])[0])
        with self.lock:
            newer = [(seq, order) for seq, order in self.orders if seq > after]
        page = newer[:limit]
        cursor = page[-1][0] if page else after
        return 200, {}, {"orders": [order for _seq, order in page], "cursor": str(cursor), "more": len(newer) > limit}


def _handler(mall: FakeMall) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            target = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = mall.answer(method, target.path, parse_qs(target.query), self.headers, body)
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            return

    return Handler
