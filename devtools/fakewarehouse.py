"""A fake outside warehouse (3PL) for the warehouse-request tests and the demo `make run` starts: an HTTP JSON
API, or a CSV drop watching an outbox folder.

The API (the protocol of shipping.services.warehouse):
- `POST /v1/shipments` with `Authorization: Bearer <token>` (checked exactly: 401 otherwise) and
  {"batch": …, "shipments": [...]}: each shipment with all its required fields, a phone number and a known
  prefecture is accepted; one without is refused with a reason in Japanese, as a Japanese 3PL answers. A request
  id already received is ignored (a batch sent twice is one request). A body that is not such JSON is 400.
- `GET /v1/answers?after=<cursor>&limit=<n>`: the answers since the cursor, oldest first, with the new cursor and
  `more`. Accepted requests are shipped `delay` seconds after they came (when the next answers are asked for, or
  by `ship_due`), with tracking numbers of the carrier's real shape: 12 digits for Yamato and Sagawa, 12 for
  ゆうパック, the last digit the remainder of the first eleven by 7 as the carriers' check digits are.

The CSV drop: `FakeWarehouseDrop(outbox, inbox)` takes each request file of the outbox (moved to outbox/taken/),
writes an answer file of accepted/refused rows into the inbox at once and one of shipped rows once `delay` has
passed, in the layout shipping.services.warehouse reads (ANSWER_HEADER, cp932 or UTF-8). `process()` does one
round (the tests call it); `watch()` does it every `every` seconds until `stop`.

Switches for tests: `queue_server_error` (the next POSTs/GETs answer 500), `refuse_next(reason)` (the next
shipment received is refused), `revoke_token`.

Run it alone: `python -m devtools.fakewarehouse --port 8802 --delay 120` (API), or
`python -m devtools.fakewarehouse --drop var/warehouse/out var/warehouse/in` (CSV drop).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from japan.address import PREFECTURES as ALL_PREFECTURES

from .fakemalls.base import JST, FakeMallServer, MallRequestHandler, demo_arguments, query_values

DEMO_WAREHOUSE_TOKEN = "wh_demo_0b4c4y4rd_3pl_token_000000"  # noqa: S105 - opens nothing but this fake
PREFECTURES = frozenset(ALL_PREFECTURES)
REQUIRED = ("request_id", "order_number", "destination", "items")
ANSWER_HEADER = ("依頼番号", "状態", "理由", "倉庫受付番号", "配送業者", "問合せ番号", "出荷日")
CARRIER_PREFIX = {"yamato": "4", "sagawa": "3", "japanpost": "1"}  # first digit of each carrier's numbers


def tracking_number(carrier: str, serial: int) -> str:
    """Twelve digits whose last is the first eleven's remainder by 7 (Yamato's and Sagawa's check digit)."""
    body = f"{CARRIER_PREFIX.get(carrier, '4')}{serial:010d}"
    return f"{body}{int(body) % 7}"


def refusal(shipment: Any) -> str:
    """Why a warehouse would refuse this shipment ("" when it accepts it)."""
    if not isinstance(shipment, dict):
        return "依頼の形式が正しくありません"
    missing = [name for name in REQUIRED if not shipment.get(name)]
    if missing:
        return f"必須項目がありません：{'、'.join(missing)}"
    destination = shipment["destination"]
    if not isinstance(destination, dict) or not str(destination.get("phone") or "").strip():
        return "お届け先の電話番号がありません"
    if str(destination.get("prefecture") or "").strip() not in PREFECTURES:
        return f"都道府県「{destination.get('prefecture') or ''}」が不明です"
    if not str(destination.get("postal_code") or "").strip():
        return "お届け先の郵便番号がありません"
    return ""


@dataclass
class Received:
    request_id: str
    remote_id: str
    order_number: str
    carrier: str
    at: float  # time.monotonic() when it came
    shipment: dict[str, Any]
    shipped: bool = False


@dataclass
class Book:
    """What the warehouse holds, shared by the API and the CSV drop: requests, and answers in order."""

    delay: float = 0.0
    received: dict[str, Received] = field(default_factory=dict)
    answers: list[dict[str, Any]] = field(default_factory=list)
    refuse_reasons: list[str] = field(default_factory=list)
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def _answer(self, **values: Any) -> None:
        self.answers.append({"seq": len(self.answers) + 1, **values})

    def receive(self, shipments: list[Any]) -> list[str]:
        """Accept or refuse each shipment not yet received; the ids received now."""
        taken = []
        with self.lock:
            for shipment in shipments:
                request_id = str(shipment.get("request_id") or "") if isinstance(shipment, dict) else ""
                if request_id and request_id in self.received:
                    continue
                reason = self.refuse_reasons.pop(0) if self.refuse_reasons else refusal(shipment)
                if reason:
                    self._answer(request_id=request_id, state="refused", reason=reason)
                    if request_id:
                        taken.append(request_id)
                    continue
                serial = next(self.serial)
                remote_id = f"WH{serial:08d}"
                self.received[request_id] = Received(
                    request_id, remote_id, str(shipment.get("order_number") or ""),
                    str(shipment.get("carrier") or "yamato") or "yamato", time.monotonic(), shipment,
                )  # fmt: skip
                self._answer(request_id=request_id, state="accepted", remote_id=remote_id)
                taken.append(request_id)
        return taken

    def ship_due(self, now: float | None = None) -> int:
        """Ship every accepted request that has waited `delay` seconds; how many were shipped."""
        now = time.monotonic() if now is None else now
        shipped = 0
        today = dt.datetime.now(JST).date().isoformat()
        with self.lock:
            for entry in self.received.values():
                if entry.shipped or now - entry.at < self.delay:
                    continue
                entry.shipped = True
                carrier = entry.carrier if entry.carrier in CARRIER_PREFIX else "yamato"
                number = tracking_number(carrier, int(entry.remote_id[2:]) + 10_000_000)
                self._answer(request_id=entry.request_id, state="shipped", remote_id=entry.remote_id,
                             carrier=carrier, tracking_numbers=[number], shipped_on=today)  # fmt: skip
                shipped += 1
        return shipped

    def since(self, cursor: int, limit: int) -> tuple[list[dict[str, Any]], int, bool]:
        with self.lock:
            page = self.answers[cursor : cursor + limit]
            return page, cursor + len(page), cursor + len(page) < len(self.answers)


class WarehouseHandler(MallRequestHandler):
    mall: FakeWarehouse

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.read_body()
        status, answer = self.mall.handle("POST", self.path, self.lowered_headers(), body)
        self.send_json(status, answer, {})

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.read_body()
        status, answer = self.mall.handle("GET", self.path, self.lowered_headers(), b"")
        self.send_json(status, answer, {})


class FakeWarehouse(FakeMallServer):
    """The warehouse's HTTP JSON API over a local port (start/stop/url/`with` as the fake malls)."""

    handler_class = WarehouseHandler
    thread_name: ClassVar[str] = "fake-warehouse"
    display_name: ClassVar[str] = "warehouse"

    def __init__(self, *, token: str = DEMO_WAREHOUSE_TOKEN, delay: float = 0.0, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        self.token = token
        self.book = Book(delay=delay)
        self.requests: list[tuple[str, str, Any]] = []  # (method, path, JSON body) as received
        self._revoked = False

    def add_orders(self, n: int) -> Sequence[str | int]:
        """A warehouse makes no orders: they come from us (FakeMallServer's demo producer is not used)."""
        return []

    # --- switches -------------------------------------------------------------------------------------------

    def queue_server_error(self, times: int = 1) -> None:
        self._queue(times, 500, {"error": "internal error"}, {})

    def refuse_next(self, reason: str) -> None:
        with self.book.lock:
            self.book.refuse_reasons.append(reason)

    def revoke_token(self) -> None:
        self._revoked = True

    # --- the API ------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(path)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        with self._lock:
            self.requests.append((method, parts.path, payload))
        canned = self._next_canned()
        if canned is not None:
            return canned.status, canned.body
        if self._revoked or headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "invalid token"}
        if method == "POST" and parts.path == "/v1/shipments":
            if not isinstance(payload, dict) or not isinstance(payload.get("shipments"), list):
                return 400, {"error": "a JSON object with a list of shipments is expected"}
            return 202, {"received": self.book.receive(payload["shipments"])}
        if method == "GET" and parts.path == "/v1/answers":
            query = query_values(parts.query)
            try:
                cursor = int(query.get("after") or 0)
                limit = max(1, min(500, int(query.get("limit") or 100)))
            except ValueError:
                return 400, {"error": "after and limit are numbers"}
            self.book.ship_due()
            answers, after, more = self.book.since(cursor, limit)
            return 200, {"answers": answers, "cursor": str(after), "more": more}
        return 404, {"error": "not found"}


class FakeWarehouseDrop:
    """The same warehouse reached by a CSV drop: request files from `outbox`, answer files into `inbox`."""

    def __init__(self, outbox: Path, inbox: Path, *, delay: float = 0.0, encoding: str = "cp932") -> None:
        self.outbox, self.inbox = Path(outbox), Path(inbox)
        self.encoding = encoding
        self.book = Book(delay=delay)
        self.files_taken: list[str] = []
        self._written = 0  # answers already written into answer files
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._names = itertools.count(1)

    def _take(self, path: Path) -> None:
        text = path.read_bytes().decode(self.encoding, errors="replace")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        shipments = [
            {
                "request_id": row.get("依頼番号", ""),
                "order_number": row.get("受注番号", ""),
                "carrier": row.get("配送業者", "") or "yamato",
                "destination": {
                    "phone": row.get("お届け先電話番号", ""),
                    "prefecture": row.get("お届け先都道府県", ""),
                    "postal_code": row.get("お届け先郵便番号", ""),
                },  # fmt: skip
                "items": row.get("品名", ""),
            }
            for row in rows
        ]
        self.book.receive(shipments)
        taken = self.outbox / "taken"
        taken.mkdir(exist_ok=True)
        os.replace(path, taken / path.name)
        self.files_taken.append(path.name)

    def _write_answers(self) -> str:
        with self.book.lock:
            new = self.book.answers[self._written :]
            self._written = len(self.book.answers)
        if not new:
            return ""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(ANSWER_HEADER)
        for a in new:
            numbers = ",".join(a.get("tracking_numbers", []))
            cells = [a.get("request_id", ""), a["state"], a.get("reason", ""), a.get("remote_id", "")]
            writer.writerow([*cells, a.get("carrier", ""), numbers, a.get("shipped_on", "")])
        self.inbox.mkdir(parents=True, exist_ok=True)
        name = f"answers-{dt.datetime.now(JST):%Y%m%d%H%M%S}-{next(self._names):04d}.csv"
        temporary = self.inbox / f".{name}.tmp"
        temporary.write_bytes(buffer.getvalue().encode(self.encoding, errors="replace"))
        os.replace(temporary, self.inbox / name)
        return name

    def process(self, now: float | None = None) -> list[str]:
        """One round: take the outbox's request files, ship what is due, write the answers; the files written."""
        written = []
        if self.outbox.is_dir():
            for path in sorted(p for p in self.outbox.glob("*.csv") if not p.name.startswith(".")):
                self._take(path)
        name = self._write_answers()  # accepted / refused at once
        if name:
            written.append(name)
        if self.book.ship_due(now):
            written.append(self._write_answers())
        return written

    def watch(self, every: float = 1.0) -> FakeWarehouseDrop:
        def run() -> None:
            while not self._stopping.wait(every):
                self.process()

        self._stopping.clear()
        self._thread = threading.Thread(target=run, name="fake-warehouse-drop", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def main(argv: list[str] | None = None) -> None:
    parser = demo_arguments(__doc__)
    parser.add_argument("--delay", type=float, default=120.0, help="seconds from accepting to shipping")
    parser.add_argument("--token", default=DEMO_WAREHOUSE_TOKEN)
    parser.add_argument("--drop", nargs=2, metavar=("OUTBOX", "INBOX"), help="a CSV drop instead of the API")
    parser.add_argument("--encoding", default="cp932")
    args = parser.parse_args(argv)
    if args.drop:
        drop = FakeWarehouseDrop(Path(args.drop[0]), Path(args.drop[1]), delay=args.delay, encoding=args.encoding)
        drop.watch(args.every if args.every < 60 else 2.0)
        sys.stdout.write(f"fake warehouse (CSV drop): requests from {args.drop[0]}, answers into {args.drop[1]}\n")
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            drop.stop()
        return
    fake = FakeWarehouse(token=args.token, delay=args.delay).start(args.port)
    fake.serve_until_interrupted(
        f"fake warehouse on {fake.url} (token {args.token}); requests are shipped {args.delay:.0f} s after they come"
    )


if __name__ == "__main__":
    main()
