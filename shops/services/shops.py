"""Writes to shops themselves: creating one, its credentials, its sync row and its default code mappings."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from backyard.models import Tenant
from orders.locks import locked
from orders.models import PaymentMethod

from ..crypto import CredentialsUnreadable, decrypt_credentials, encrypt_credentials, rotate_token
from ..models import MallCodeMapping, MappingKind, Shop, ShopSync, SyncErrorKind

logger = logging.getLogger(__name__)


def shop_sync(shop: Shop) -> ShopSync:
    """The shop's sync row, made on first use (shops made before polling existed, or by other code)."""
    sync, _ = ShopSync.objects.get_or_create(shop=shop, defaults={"tenant_id": shop.tenant_id})
    return sync


def shop_syncs_ensure(*, tenant: Tenant | None = None) -> int:
    """Sync rows for every shop that lacks one (one query to find them, one insert); returns how many."""
    missing = Shop.objects.filter(sync__isnull=True)
    if tenant is not None:
        missing = missing.for_tenant(tenant)
    rows = [
        ShopSync(tenant_id=tenant_id, shop_id=shop_id) for shop_id, tenant_id in missing.values_list("pk", "tenant_id")
    ]
    ShopSync.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _default_codes(mall: str) -> dict[str, str]:
    """The connector module's PAYMENT_CODES (mall code → the tenant's default payment method code), or {}
    while the module does not exist yet or has none."""
    try:
        module = importlib.import_module(f"shops.connectors.{mall}")
    except ImportError:
        return {}
    except Exception:  # a broken connector module: no defaults, the admin maps by hand
        logger.exception("shops.connectors.%s cannot be imported", mall)
        return {}
    codes = getattr(module, "PAYMENT_CODES", None)
    return {str(k): str(v) for k, v in codes.items()} if isinstance(codes, Mapping) else {}


def mappings_seed(*, tenant: Tenant, mall: str) -> int:
    """The mall's default payment-code mappings onto the tenant's payment methods, for the codes the tenant
    has not mapped yet; codes whose payment method the tenant does not have are left out. Returns how many
    were made. Idempotent; a mapping the admin changed is never touched."""
    defaults = _default_codes(mall)
    if not defaults:
        return 0
    methods = dict(PaymentMethod.objects.for_tenant(tenant).values_list("code", "pk"))
    have = set(
        MallCodeMapping.objects.for_tenant(tenant)
        .filter(mall=mall, kind=MappingKind.PAYMENT)
        .values_list("mall_code", flat=True)
    )
    rows = [
        MallCodeMapping(
            tenant=tenant, mall=mall, kind=MappingKind.PAYMENT, mall_code=code[:100], payment_method_id=methods[target]
        )
        for code, target in defaults.items()
        if code[:100] not in have and target in methods
    ]
    MallCodeMapping.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def shop_setup(*, shop: Shop) -> Shop:
    """What a newly saved shop needs besides its row: its sync state and its mall's default code mappings
    (the admin calls this after adding a shop; so does shop_create)."""
    shop_sync(shop)
    mappings_seed(tenant=shop.tenant, mall=shop.mall)
    return shop


@transaction.atomic
def shop_create(
    *,
    tenant: Tenant,
    name: str,
    mall: str,
    code: str,
    credentials: Mapping[str, str] | None = None,
    base_url: str = "",
    poll_interval: int = 5,
    active: bool = True,
    first_poll_from: dt.date | None = None,
) -> Shop:
    """A shop with its credentials (encrypted), sync state and default mappings."""
    shop = Shop(
        tenant=tenant,
        name=name,
        mall=mall,
        code=code,
        base_url=base_url,
        poll_interval=poll_interval,
        active=active,
        credentials=encrypt_credentials(credentials or {}),
        first_poll_from=first_poll_from,
    )
    shop.full_clean()
    shop.save()
    return shop_setup(shop=shop)


def _stored(shop: Shop) -> dict[str, str]:
    try:
        return decrypt_credentials(shop.credentials)
    except CredentialsUnreadable:
        # Lost with the old key: whatever the admin enters now replaces them.
        return {}


@transaction.atomic
def shop_credentials_set(*, shop: Shop, values: Mapping[str, str], allowed: tuple[str, ...] | None = None) -> bool:
    """Store the credentials the admin entered. A blank value keeps the stored one (secrets are never shown
    back, so a blank box means "unchanged"); `allowed` drops keys the mall kind does not use (after a change
    of kind). Returns whether anything changed; a change makes the shop due at once and clears an error the
    old credentials caused, so the fix shows at the next beat."""
    current = _stored(shop)
    merged = {key: value for key, value in current.items() if allowed is None or key in allowed}
    for key, value in values.items():
        value = (value or "").strip()
        if value:
            merged[key] = value
    if merged == current:
        return False
    shop.credentials = encrypt_credentials(merged)
    shop.save(update_fields=["credentials"])
    sync = shop_sync(shop)
    sync.failures = 0
    sync.next_due_at = None
    if sync.last_error_kind in (SyncErrorKind.AUTH, SyncErrorKind.CONFIG):
        sync.last_error, sync.last_error_kind = "", ""
    sync.save(update_fields=["failures", "next_due_at", "last_error", "last_error_kind"])
    return True


def shop_credentials_renewed(*, shop_id: int, values: Mapping[str, Any]) -> None:
    """A connector renewed a token mid-poll: keep it at once, in its own transaction, since the mall may
    already have invalidated the old one (a refresh token that rotates)."""
    with transaction.atomic():
        shop = locked(Shop.objects.filter(pk=shop_id), no_key=True).get()
        merged = {**_stored(shop), **{str(k): str(v) for k, v in values.items() if v not in (None, "")}}
        shop.credentials = encrypt_credentials(merged)
        shop.save(update_fields=["credentials"])
    logger.info("shop %s: renewed credentials saved", shop_id)


def shop_credentials_rotate() -> int:
    """Re-encrypt every shop's credentials with the first configured key (see shops.crypto); returns how
    many shops were rewritten. Shops whose credentials no configured key opens are logged and left alone."""
    done = 0
    for pk in Shop.objects.exclude(credentials="").values_list("pk", flat=True).order_by("pk"):
        with transaction.atomic():
            shop = locked(Shop.objects.filter(pk=pk), no_key=True).get()
            try:
                token = rotate_token(shop.credentials)
            except CredentialsUnreadable:
                logger.error("shop %s: credentials cannot be decrypted with any configured key", pk)
                continue
            Shop.objects.filter(pk=pk).update(credentials=token)
            done += 1
    logger.info("re-encrypted the credentials of %d shops at %s", done, timezone.now().isoformat())
    return done
