"""Celery entry points of inventory, and the stock check as its callers run it: thin, by id, safe to deliver
twice (a second check allocates only what is still missing)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from backyard.csvtext import CsvRefused, Decoded
from backyard.models import Tenant
from orders.constants import ActorKind
from orders.events import Actor

from . import kept as kept_files
from .services import products_csv
from .services.allocation import CheckResult, stock_check

logger = logging.getLogger(__name__)


@transaction.atomic
def stock_check_told(*, tenant: Tenant, order_ids: Iterable[int], actor: Actor) -> CheckResult:
    """The stock check, then orders.hooks.stock_checked in the same transaction: automation raises the 欠品 and
    SKU不明 tasks naming what is missing, and resolves them on orders found whole."""
    return stock_check(tenant=tenant, order_ids=order_ids, actor=actor)  # which tells orders.hooks itself


def _user_or_none(user_id: int | None) -> int | None:
    if user_id is not None and not get_user_model().objects.filter(pk=user_id).exists():
        return None
    return user_id


@shared_task
def stock_check_orders(tenant_id: int, order_ids: list[int], actor_name: str, user_id: int | None) -> dict[str, Any]:
    """在庫確認 of a big selection (F11 past STOCK_CHECK_INLINE_ORDERS), by the operator who asked.

    Ids that are not the tenant's orders are ignored by the check; a deleted tenant ends the task quietly, a
    deleted user leaves the name on the history. Returns the counts, for the result backend and the log."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        logger.warning("stock_check_orders: tenant %s does not exist", tenant_id)
        return {"orders": 0}
    user_id = _user_or_none(user_id)
    result = stock_check_told(tenant=tenant, order_ids=order_ids, actor=Actor(ActorKind.USER, actor_name, user_id))
    counts = {
        "full": len(result.full),
        "partial": len(result.partial),
        "short": len(result.short),
        "skipped": len(result.skipped),
        "unknown": len(result.unknown),
        "refused": len(result.refused),
    }
    logger.info("stock_check_orders tenant=%s: %s", tenant_id, counts)
    return {"orders": sum(counts[k] for k in ("full", "partial", "short", "skipped")), **counts}


PREVIEW, IMPORT = "preview", "import"


@shared_task
def products_csv_work(
    entry: str, tenant_id: int, step: str, language: str, actor_name: str = "", user_id: int | None = None
) -> dict[str, Any]:
    """The preview or the import of a long products CSV (more than PRODUCTS_CSV_INLINE_ROWS rows), kept in the
    cache under `entry` (inventory.kept); the outcome goes back into the entry, where the page polling it
    shows it. Safe to deliver twice: an entry already imported (or expired) is left alone, and the import
    itself changes nothing the second time. A refusal (another import meanwhile) or an error is written into
    the entry in the operator's language, and the page offers to try again."""
    kept = kept_files.load(entry)
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if kept is None or "result" in kept or tenant is None or "text" not in kept:
        cache.delete(entry + ":importing")
        return {"step": step, "done": False}
    decoded = Decoded(text=kept["text"], encoding=kept["encoding"], delimiter=kept["delimiter"])
    with translation.override(language):
        try:
            if step == PREVIEW:
                preview = products_csv.products_csv_preview(tenant=tenant, decoded=decoded)
                kept = {k: v for k, v in kept.items() if k not in ("working", "error")}
                kept.update(preview=preview, preview_at=timezone.now().isoformat())
            else:
                actor = Actor(ActorKind.USER, actor_name, _user_or_none(user_id))
                outcome = products_csv.products_csv_import(
                    tenant=tenant, decoded=decoded, actor=actor, filename=kept["filename"]
                )
                kept = kept_files.imported(kept, outcome.as_dict())
        except (CsvRefused, products_csv.ImportConflict) as refused:
            kept = kept_files.failed(kept, str(refused))
        except Exception:
            logger.exception("products_csv_work %s of %s failed", step, entry)
            kept = kept_files.failed(
                kept,
                _(
                    "The file could not be processed because of an error on the server. Try again; if it "
                    "happens again, tell your administrator."
                ),
            )
        finally:
            kept_files.save(entry, kept)
            cache.delete(entry + ":importing")
    logger.info("products_csv_work %s of %s: %s", step, entry, "failed" if "error" in kept else "done")
    return {"step": step, "done": "error" not in kept}
