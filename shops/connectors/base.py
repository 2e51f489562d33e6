"""What every mall connector speaks: plain dataclasses out (no Django objects), a few exceptions, and one
HTTP helper that retries politely.

A connector is built from the shop's decrypted credentials and a base URL (the mall's real endpoint, or a
fake mall's in tests and in the demo), and `pages(cursor)` yields `Page`s in the mall's order, oldest
first. Each page carries the cursor to save once that page is imported: a poll that dies between pages
resumes after the last page it finished, and re-importing a page changes nothing (the import upserts).
An order the connector cannot read is yielded as a `FailedOrder` with the reason and the raw payload, and
the rest of the page still comes through.
"""

from __future__ import annotations

import datetime as dt
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

# --- what comes out ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedLine:
    sku: str
    name: str
    unit_price: int  # yen, tax included as the mall shows it
    quantity: int
    tax_rate: int = 10  # percent: 10, or 8 (reduced rate: food)
    options: str = ""  # 項目・選択肢 as one text
    mall_line_id: str = ""  # the mall's id of the line (itemDetailId, LineId, OrderItemId, line_item id)


@dataclass(frozen=True)
class ImportedOrder:
    """An order as a mall has it now, normalised. Amounts are whole yen; a mall's "unset" (Rakuten's -9999)
    is 0 here. Text is as the mall sent it (the import normalises what it compares)."""

    external_id: str
    ordered_at: dt.datetime  # aware
    mall_status: str  # the mall's own status code (orderProgress "100", "Unshipped", "paid/unfulfilled" …)
    cancelled: bool = False
    updated_at: dt.datetime | None = None  # the mall's last change, when it says
    payment_code: str = ""  # the mall's payment code, mapped onto the tenant's payment methods by the import
    payment_name: str = ""
    delivery_name: str = ""  # the mall's delivery method name, mapped onto the tenant's delivery methods
    orderer_name: str = ""
    orderer_kana: str = ""
    orderer_email: str = ""
    orderer_phone: str = ""
    orderer_postal_code: str = ""
    orderer_prefecture: str = ""
    orderer_city: str = ""
    orderer_address1: str = ""
    orderer_address2: str = ""
    dest_name: str = ""
    dest_kana: str = ""
    dest_company: str = ""
    dest_phone: str = ""
    dest_postal_code: str = ""
    dest_prefecture: str = ""
    dest_city: str = ""
    dest_address1: str = ""
    dest_address2: str = ""
    requested_delivery_date: dt.date | None = None
    delivery_time_slot: str = ""
    shipping_fee: int = 0
    cod_fee: int = 0
    discount: int = 0
    points_used: int = 0
    total: int | None = None  # the mall's total, to check against what the lines add up to
    remarks: str = ""  # the customer's remarks (備考)
    order_comment: str = ""
    remote_island: bool | None = None  # the mall's own flag, where it sends one
    lines: tuple[ImportedLine, ...] = ()
    notes: tuple[str, ...] = ()  # what the connector noticed and read around (a missing total), for the run


@dataclass(frozen=True)
class FailedOrder:
    """An order the connector could not read: recorded with its reason and raw payload, never dropped."""

    external_id: str  # "" when not even the number could be read
    reason: str
    payload: str  # the raw text of that order as received


@dataclass
class Page:
    orders: list[ImportedOrder | FailedOrder]
    cursor: str  # what to save once this page is imported (opaque to everyone but the connector)


# --- what can go wrong ------------------------------------------------------------------------------------


class MallError(Exception):
    """The mall answered with an error the poll cannot get past now (the run records the message)."""


class RateLimited(MallError):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MallUnavailable(MallError):
    """5xx or no answer: worth trying again later."""


class AuthFailed(MallError):
    """The credentials were refused (expired token that could not be renewed, wrong key): an admin must act."""


# --- the interface ------------------------------------------------------------------------------------------


class Connector(ABC):
    """Base of every mall connector. Subclasses set `kind`, `default_base_url`, `credential_fields` and
    implement `pages`."""

    kind: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    credential_fields: ClassVar[tuple[str, ...]] = ()  # what the admin enters for this mall
    secret_fields: ClassVar[tuple[str, ...]] = ()  # of those, never shown back in full
    # Their labels in the admin, translatable (gettext_lazy), in the mall's own terms.
    credential_labels: ClassVar[Mapping[str, Any]] = {}
    # How far back the first poll (no cursor yet) reaches when the admin set no start (Shop.first_poll_from).
    INITIAL_LOOKBACK: ClassVar[dt.timedelta] = dt.timedelta(days=7)

    def __init__(self, credentials: Mapping[str, str], *, base_url: str = "", client: httpx.Client | None = None,
                 on_credentials: Callable[[dict[str, str]], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_wait: float = 30.0,
                 first_poll_from: dt.datetime | None = None) -> None:
        self.credentials = dict(credentials)
        # The admin's start of the shop's first poll (aware); nothing before it is the shop's business here.
        self.first_poll_from = first_poll_from
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.client = client or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
        # Called with the new credentials when the connector renewed a token, so the shop can save them.
        self.on_credentials = on_credentials or (lambda _new: None)
        self.sleep = sleep
        self.max_wait = max_wait

    @abstractmethod
    def pages(self, cursor: str) -> Iterator[Page]:
        """The mall's orders changed since `cursor` ("" the first time), page by page, oldest first."""

    def first_poll_start(self, now: dt.datetime, lookback: dt.timedelta | None = None) -> dt.datetime:
        """Where a first poll (empty cursor) starts: the admin's start when one is set, else `lookback`
        (INITIAL_LOOKBACK) before now."""
        if self.first_poll_from is not None:
            return self.first_poll_from
        return now - (self.INITIAL_LOOKBACK if lookback is None else lookback)

    # --- HTTP with retries ---------------------------------------------------------------------------------
    RETRIES: ClassVar[int] = 3

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request; a 429 waits for `retry_after` (at most `max_wait` seconds) and a 5xx or a dropped
        connection backs off (1, 2, 4 s …), up to RETRIES times, then RateLimited / MallUnavailable."""
        for attempt in range(self.RETRIES + 1):
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                if attempt == self.RETRIES:
                    raise MallUnavailable(f"{method} {url}: {error}") from error
                self.sleep(min(2.0 ** attempt, self.max_wait))
                continue
            self.observe(response)
            if response.status_code == 429:
                wait = self.retry_after(response)
                if attempt == self.RETRIES or wait > self.max_wait:
                    raise RateLimited(f"{method} {url}: 429 Too Many Requests{self.error_detail(response)}", wait)
                self.sleep(wait)
                continue
            if response.status_code >= 500:
                if attempt == self.RETRIES:
                    raise MallUnavailable(f"{method} {url}: {response.status_code}{self.error_detail(response)}")
                self.sleep(min(2.0 ** attempt, self.max_wait))
                continue
            return response
        raise AssertionError("unreachable")

    # Hooks for a mall whose rate limits or error bodies say more (Amazon's x-amzn-RateLimit-Limit).
    def observe(self, response: httpx.Response) -> None:
        """Called with every answer before it is judged (nothing to note by default)."""
        return

    def retry_after(self, response: httpx.Response) -> float:
        """Seconds to wait after a 429."""
        return _retry_after(response)

    def error_detail(self, response: httpx.Response) -> str:
        """Appended to the message of a 429 or 5xx that gives up ("" by default)."""
        return ""


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 1.0
