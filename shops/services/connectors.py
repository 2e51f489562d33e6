"""Finding a shop's connector and building it with the shop's decrypted credentials."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import re
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any
from zoneinfo import ZoneInfo

from ..connectors.base import Connector
from ..crypto import decrypt_credentials
from ..models import Shop

logger = logging.getLogger(__name__)

_KIND = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
JAPAN = ZoneInfo("Asia/Tokyo")  # the malls' and the merchants' calendar


def connector_class(kind: str) -> type[Connector]:
    """The connector class of a mall kind; LookupError when the kind has none (phone/FAX, CSV, auctions).

    `connectors.connector_for` imports every mall module at once, so one missing or broken module would hide
    all the others: then the kind's own module is tried alone, and the registry (which also holds connectors
    registered by tests or plug-ins) is asked."""
    from ..connectors import REGISTRY, connector_for

    try:
        return connector_for(kind)
    except ImportError as error:
        logger.warning("not every mall connector imports (%s); trying %r alone", error, kind)
    if kind not in REGISTRY and _KIND.match(kind):
        with suppress(ImportError):
            importlib.import_module(f"shops.connectors.{kind}")
    try:
        return REGISTRY[kind]
    except KeyError:
        raise LookupError(f"no connector for mall kind {kind!r}") from None


def has_connector(kind: str) -> bool:
    """Whether shops of this kind can be polled."""
    try:
        connector_class(kind)
    except LookupError:
        return False
    return True


def credential_fields(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(fields the admin enters, of those the secret ones) for a mall kind; ((), ()) without a connector.

    Used by the admin form, which must open even while a connector module is missing or broken."""
    try:
        cls = connector_class(kind)
    except LookupError:
        return (), ()
    except Exception:  # a broken connector module must not take the admin down with it
        logger.exception("the connector of %r cannot be loaded", kind)
        return (), ()
    return tuple(cls.credential_fields), tuple(cls.secret_fields)


def credentials_clean(kind: str, values: Mapping[str, str]) -> dict[str, str]:
    """Credentials an admin entered for a mall kind, as its connector will use them (a Shopify domain made
    `<handle>.myshopify.com`); connectors.base.CredentialsInvalid, with a message per credential, when the
    connector refuses them (a host that is not the mall's own). Unchanged for a kind without a connector."""
    try:
        cls = connector_class(kind)
    except LookupError:
        return dict(values)
    return cls.clean_credentials(values)


def credential_labels(kind: str) -> dict[str, Any]:
    """The admin's label (translatable) of each credential of a mall kind, as its connector names them;
    {} without a connector (the form then has no credential fields to label)."""
    try:
        return dict(connector_class(kind).credential_labels)
    except LookupError:
        return {}
    except Exception:  # a broken connector module must not take the admin down with it
        logger.exception("the connector of %r cannot be loaded", kind)
        return {}


def first_poll_lookback(kind: str) -> dt.timedelta | None:
    """How far back a first poll of this kind of shop reaches when the admin set no start; None without a
    connector."""
    try:
        return connector_class(kind).INITIAL_LOOKBACK
    except LookupError:
        return None
    except Exception:  # a broken connector module must not take the shops page down with it
        logger.exception("the connector of %r cannot be loaded", kind)
        return None


def first_poll_from(shop: Shop) -> dt.datetime | None:
    """The start the admin set for the shop's first poll: the beginning of that day in Japan."""
    if shop.first_poll_from is None:
        return None
    return dt.datetime.combine(shop.first_poll_from, dt.time.min, tzinfo=JAPAN)


def connector_build(
    shop: Shop, *, on_credentials: Callable[[dict[str, str]], None] | None = None, **options: Any
) -> Connector:
    """The shop's connector with its decrypted credentials, base URL (blank: the mall's real endpoint) and
    the start of its first poll.

    Raises LookupError (no connector for the kind) or shops.crypto.CredentialsUnreadable."""
    cls = connector_class(shop.mall)
    options.setdefault("first_poll_from", first_poll_from(shop))
    return cls(decrypt_credentials(shop.credentials), base_url=shop.base_url, on_credentials=on_credentials, **options)
