"""No message sends the operator to a function the product does not have (issue 10, point 6)."""

from __future__ import annotations

import re
from pathlib import Path

from django.urls import reverse
from django.utils import translation

from orders.constants import Stage, refusal_reason
from orders.models import Order, Status
from tests.factories import make_order

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("backyard", "orders", "automation", "mailer", "shops", "shipping", "templates")
# Functions Backyard does not have (yet): returns, refunds, sending mails, waybills, picking lists, documents.
MISSING = re.compile(r"返品|返金")  # (printed forms, stock and waybills (送り状) exist since issues 14, 15 and 16)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def test_cancelling_a_shipped_order_says_what_can_be_done(operator_client, tenant):
    shipped = make_order(tenant, status=Status.objects.for_tenant(tenant).filter(group__stage=Stage.SHIPPED).first())
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [shipped.pk]})

    response = operator_client.post(reverse("order_bulk_cancel"), {"reason": "お客様都合"}, follow=True)

    page = response.content.decode()
    assert f"{shipped.external_id}: 出荷済の受注はキャンセルできません。" in page
    assert "進められるのは「売上」だけです。経緯は作業メモに残してください。" in page
    assert "返品" not in page
    assert Order.objects.get(pk=shipped.pk).stage == Stage.SHIPPED


def _sources() -> str:
    """Every source and template, adjacent Python string literals joined ("a " "b" → "a b")."""
    texts = []
    for top in SOURCES:
        for path in (ROOT / top).rglob("*"):
            if path.suffix in (".py", ".html") and "migrations" not in path.parts:
                texts.append(re.sub(r"([\"'])\s*\n\s*\1", "", path.read_text(encoding="utf-8")))
    return "\n".join(texts)


def test_no_message_in_use_names_a_missing_function():
    catalogue = translation.trans_real.translation("ja")._catalog  # noqa: SLF001 - the compiled .mo
    sources = _sources()
    offending = []
    for msgid, msgstr in catalogue.items():
        if isinstance(msgid, tuple):  # (msgid, plural index)
            msgid = msgid[0]
        if not msgid or not MISSING.search(str(msgstr)):
            continue
        probe = max(PLACEHOLDER.split(msgid), key=len)
        if probe in sources:  # still in use (entries of removed strings stay in the catalogue, unused)
            offending.append((msgid, msgstr))
    assert offending == []
    with translation.override("ja"):
        assert not MISSING.search(refusal_reason(Stage.SHIPPED, Stage.CANCELLED))
