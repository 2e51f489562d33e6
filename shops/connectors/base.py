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
import email.utils
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)

# The longest a mall's Retry-After is honoured (seconds): a mall that asks for longer (or sends "inf", an
# absurd number) is asked again after this, and backed off again if it still refuses. It is also the
# longest countdown a poll's retry gets (shops.services.polling.RETRY_MAX), which the broker's visibility
# timeout exceeds (backyard.settings).
RETRY_AFTER_MAX = 30 * 60.0
RETRY_AFTER_DEFAULT = 1.0  # a 429 whose Retry-After cannot be read

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


class ShipmentRefused(MallError):
    """The mall refused a shipment report (an unknown order, a tracking number of the wrong shape, a basket that
    is not the order's): its own words, shown on the order. Not retried: the same report would be refused again."""


class CredentialsInvalid(MallError):
    """Credentials the connector will not use at all, before any request (a host that is not the mall's own):
    `problems` maps each credential to what is wrong with it, in the operator's words."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__(" ".join(self.problems.values()))


# --- shipment data back to the mall (B12) ---------------------------------------------------------------


@dataclass(frozen=True)
class Parcel:
    """One parcel of an order as a mall is told of it: our carrier code (shipping.models.Carrier: yamato,
    sagawa, japanpost, other), the tracking number (digits) and the day it left."""

    carrier: str
    number: str
    shipped_on: dt.date


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

    @classmethod
    def clean_credentials(cls, values: Mapping[str, str]) -> dict[str, str]:
        """The credentials as this connector uses them, or CredentialsInvalid naming what is wrong. The admin's
        form calls it on what an admin enters, and a connector on what it is built with (so one stored before
        the rule, or written around the form, is refused too): a connector that takes a host from a credential
        accepts only the mall's own hosts, never an address inside our network. Nothing to check by default."""
        return dict(values)

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        base_url: str = "",
        client: httpx.Client | None = None,
        on_credentials: Callable[[dict[str, str]], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 30.0,
        first_poll_from: dt.datetime | None = None,
    ) -> None:
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

    def report_shipment(self, *, mall_order: str, parcels: Sequence[Parcel]) -> str:
        """Tell the mall that its order `mall_order` left in `parcels` (those not told before); returns the mall's
        answer in words. ShipmentRefused when the mall refuses it; RateLimited, MallUnavailable and AuthFailed as
        for polling. A mall without this call keeps the default: its reports go out as a file."""
        raise NotImplementedError(f"{self.kind} takes no shipment reports through its API")

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
        connection backs off (1, 2, 4 s …), up to RETRIES times, then RateLimited / MallUnavailable.

        The messages are for the operator, in words: never the socket's own text (which would tell a port
        that refuses from one that speaks another protocol); that goes to the log."""
        for attempt in range(self.RETRIES + 1):
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                if attempt == self.RETRIES:
                    logger.warning("%s %s failed after %d attempts: %r", method, url, attempt + 1, error)
                    raise MallUnavailable(_transport_words(error, attempt + 1)) from error
                self.sleep(min(2.0**attempt, self.max_wait))
                continue
            self.observe(response)
            if response.status_code == 429:
                wait = bounded_wait(self.retry_after(response))
                if attempt == self.RETRIES or wait > self.max_wait:
                    logger.warning("%s %s: 429, Retry-After %s", method, url, wait)
                    raise RateLimited(
                        _("asked to wait before the next request (429)") + self.error_detail(response), wait
                    )
                self.sleep(wait)
                continue
            if response.status_code >= 500:
                if attempt == self.RETRIES:
                    logger.warning("%s %s: %s", method, url, response.status_code)
                    raise MallUnavailable(
                        _("server error (%(status)d)") % {"status": response.status_code} + self.error_detail(response)
                    )
                self.sleep(min(2.0**attempt, self.max_wait))
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


def bounded_wait(seconds: float) -> float:
    """A wait a mall asked for, made usable: not a number (NaN) is the default wait, below zero is zero,
    past RETRY_AFTER_MAX (infinity too) is RETRY_AFTER_MAX."""
    if math.isnan(seconds):
        return RETRY_AFTER_DEFAULT
    return min(max(seconds, 0.0), RETRY_AFTER_MAX)


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float:
    """Seconds to wait from a Retry-After header: a number of seconds ("120", "2.0") or an HTTP date;
    anything unreadable ("nan", "soon") is RETRY_AFTER_DEFAULT; always bounded (see bounded_wait)."""
    text = (value or "").strip()
    if not text:
        return RETRY_AFTER_DEFAULT
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return RETRY_AFTER_DEFAULT
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return bounded_wait(seconds)


def _retry_after(response: httpx.Response) -> float:
    return parse_retry_after(response.headers.get("Retry-After"))


def _transport_words(error: httpx.TransportError, attempts: int) -> str:
    """What an operator reads of a connection that failed: whether the mall answered in time or could not
    be reached at all, and how often it was tried; the socket's own text is logged, not shown."""
    if isinstance(error, httpx.TimeoutException):
        return ngettext("no answer in time (%(n)d attempt)", "no answer in time (%(n)d attempts)", attempts) % {
            "n": attempts
        }
    return ngettext("could not connect (%(n)d attempt)", "could not connect (%(n)d attempts)", attempts) % {
        "n": attempts
    }
