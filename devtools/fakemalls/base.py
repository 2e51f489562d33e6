"""What the four fake malls share, so that each mall's module holds only what that mall answers.

- FakeMallServer: the life cycle of the local HTTP server (start on a free port in a daemon thread, stop,
  `url`, `with fake:`), the demo's order producer, the queue of canned answers the switches fill, and the
  foreground loop of `python -m devtools.fakemalls.<mall>`.
- MallRequestHandler: the socket side of one request (read the body, hand it to the fake, write the answer);
  each fake subclasses it with the methods its API has, and `start` binds it to the fake as `mall`.
- A few readers of what arrives on the wire that two or more fakes read the same way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs

JST = dt.timezone(dt.timedelta(hours=9), "JST")


class MallRequestHandler(BaseHTTPRequestHandler):
    """The socket side of one request to a fake mall. Subclasses add `do_GET`/`do_POST` for what the mall's
    API serves (a method without one is answered 501 by the standard library) and call their fake's `handle`:
    what the answer is stays with the fake, where a test can read it as the API."""

    mall: FakeMallServer  # set by FakeMallServer.start on a subclass made for that one fake
    protocol_version = "HTTP/1.1"  # keep-alive, as the connectors' clients pool connections
    json_content_type: ClassVar[str] = "application/json"  # each fake sets its mall's exact header

    def read_body(self) -> bytes:
        """The request's body, read whole even when the fake ignores it: on a kept-alive connection what is
        left unread would be taken for the next request."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def lowered_headers(self) -> dict[str, str]:
        """The request's headers with lower-case names: HTTP header names are case-insensitive."""
        return {name.lower(): value for name, value in self.headers.items()}

    def send_answer(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        """Status, headers, Content-Length and body: the length, because a kept-alive client needs it to know
        where the answer ends."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status: int, body: Any, headers: Mapping[str, str]) -> None:
        """An answer in JSON, as UTF-8 text rather than \\u escapes, as the Japanese malls send names. A string
        value RAW_NUMBER + digits goes out as a bare JSON number of those digits (one longer than Python can
        print as an int, as a broken mall may send)."""
        text = json.dumps(body, ensure_ascii=False)
        if RAW_NUMBER in text:
            text = re.sub(f'"{RAW_NUMBER}(-?[0-9]+)"', r"\1", text)
        data = text.encode("utf-8")
        self.send_answer(status, {"Content-Type": self.json_content_type, **headers}, data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Quiet: the tests read the fake's `requests` instead of an access log."""


RAW_NUMBER = "__raw_number__:"


@dataclass
class CannedAnswer:
    """An answer a switch queued for one of the next requests, whatever that request asks."""

    status: int
    body: Any
    headers: dict[str, str]


class FakeMallServer(ABC):
    """An in-memory mall behind a ThreadingHTTPServer on a local port. Subclasses set `handler_class` and
    `thread_name`, call `super().__init__()` first, and implement `add_orders` (which the demo's producer
    calls) and a `handle` their handler calls."""

    handler_class: ClassVar[type[MallRequestHandler]]
    thread_name: ClassVar[str]  # "fake-rakuten": names the server's thread, and with "-producer" the demo's
    display_name: ClassVar[str] = "mall"  # in the error of `url` before `start`

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        # Reentrant: a switch or a generator that takes the lock may call another one that takes it again.
        self._lock = threading.RLock()
        self._canned: list[CannedAnswer] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._producer: threading.Thread | None = None
        self._stopping = threading.Event()

    # --- life cycle -----------------------------------------------------------------------------------------

    def start(self, port: int = 0) -> Self:
        """Serve on `port` (0: a free one, as the tests want; the demo picks a fixed one) from a daemon thread."""
        self._stopping.clear()
        handler = type(self.handler_class.__name__, (self.handler_class,), {"mall": self})
        server = ThreadingHTTPServer((self.host, port), handler)
        server.daemon_threads = True
        self._server = server
        # A short poll interval: stop() waits for the loop to notice, and the tests stop a server each.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the producer, then the server; the fake keeps its orders and can be started again."""
        self._stopping.set()
        if self._producer is not None:
            self._producer.join(timeout=5)
            self._producer = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to give the connector: the fake serves every one of the mall's hosts under it."""
        if self._server is None:
            raise RuntimeError(f"the fake {self.display_name} is not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    # --- the demo -------------------------------------------------------------------------------------------

    @abstractmethod
    def add_orders(self, n: int) -> Sequence[str | int]:
        """Generate `n` realistic orders placed up to now; returns their ids, oldest first."""

    def produce(self, every: float = 60.0, count: int = 1) -> None:
        """Add `count` new orders every `every` seconds until stop(): the demo mall's heartbeat, so that a
        newcomer sees polling bring orders in."""

        def run() -> None:
            while not self._stopping.wait(every):
                self.add_orders(count)

        self._producer = threading.Thread(target=run, name=f"{self.thread_name}-producer", daemon=True)
        self._producer.start()

    def serve_until_interrupted(self, banner: str) -> None:
        """Print `banner` (where the fake is and what to enter to connect a shop) and serve until Ctrl-C:
        the foreground of `python -m devtools.fakemalls.<mall>`."""
        sys.stdout.write(f"{banner}\n")
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            self.stop()

    # --- canned answers -------------------------------------------------------------------------------------

    def _queue(self, times: int, status: int, body: Any, headers: dict[str, str]) -> None:
        """The next `times` requests get this answer instead of what they ask for (the switches' tool)."""
        with self._lock:
            self._canned.extend(CannedAnswer(status, body, headers) for _ in range(times))

    def _next_canned(self) -> CannedAnswer | None:
        """The oldest queued answer, taken off the queue; None when no switch is pending."""
        with self._lock:
            return self._canned.pop(0) if self._canned else None


def demo_arguments(doc: str | None, *, orders_help: str = "orders to start with") -> argparse.ArgumentParser:
    """The command line every fake's `python -m` shares (--port, --every, --orders), described by the first
    line of the module's docstring `doc`; a fake adds its own switches to the parser it gets back."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between new orders")
    parser.add_argument("--orders", type=int, default=20, help=orders_help)
    return parser


def query_values(query: str) -> dict[str, str]:
    """A query string's parameters with the last value of each, blank ones kept: a filter sent empty is still
    a parameter sent, which matters to an API that refuses unexpected ones."""
    return {key: values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}


def parse_time(text: str, naive_zone: dt.tzinfo) -> dt.datetime:
    """An ISO 8601 time from a request ("Z" too). One without an offset is read in `naive_zone`: the mall's
    own zone, which differs (Shopify: the shop's, Japan; SP-API: UTC), so each fake says which."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=naive_zone)


def within(moment: dt.datetime, low: dt.datetime | None, high: dt.datetime | None) -> bool:
    """Whether `moment` is inside inclusive bounds, None leaving that side open, as the malls' min/max and
    After/Before filters are."""
    return (low is None or moment >= low) and (high is None or moment <= high)
