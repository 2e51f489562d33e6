"""documents.services.printing and data without rendering: what is refused by name, the marks and events a print
leaves (set-based, times counted), the job's limits, the prune, and the amounts' one source."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from documents.models import DocumentKind, DocumentSettings, JobState, PrintJob, PrintMark, ReceiptDetails
from documents.services.data import order_forms, picking_rows
from documents.services.printing import (
    MAX_JOB_ORDERS,
    PrintRefused,
    job_create,
    jobs_prune,
    mark_printed,
    printable,
    printed_before,
)
from inventory.models import Product
from orders.constants import EventType
from orders.events import Actor
from orders.models import OrderEvent, OrderLine, PaymentMethod
from tests.factories import make_order

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def line(sku: str, price: int, quantity: int = 1, rate: int = 10, **extra: object) -> dict[str, object]:
    return {"sku": sku, "name": f"商品 {sku}", "unit_price": price, "quantity": quantity, "tax_rate": rate, **extra}


def test_amounts_and_tax_per_rate_are_the_orders_own(tenant):
    order = make_order(
        tenant,
        external_id="A-1",
        lines=[line("TEA", 1080, 2, 8), line("MUG", 2420, 1, 10)],
        shipping_fee=600,
        discount=200,
        points_used=100,
    )
    form = order_forms(tenant, [order.pk])[0]

    assert (form.item_subtotal, form.shipping_fee, form.discount, form.points_used) == (4580, 600, 200, 100)
    assert form.total == order.total == 4580 + 600 - 200 - 100
    # 8 %: 2,160 incl. 160 tax; 10 %: 2,420 + 600 − 200 = 2,820 incl. 256 tax, each rounded down once
    assert [(r.rate, r.amount, r.tax, r.net) for r in form.rates] == [(8, 2160, 160, 2000), (10, 2820, 256, 2564)]
    assert form.tax == order.tax == 160 + 256
    assert [line.reduced for line in form.lines] == [True, False]
    assert form.has_reduced


def test_forms_come_in_the_order_asked_and_only_the_tenants(tenant, other_tenant):
    first, second = make_order(tenant, external_id="B-1"), make_order(tenant, external_id="B-2")
    foreign = make_order(other_tenant, external_id="X-1")

    forms = order_forms(tenant, [second.pk, foreign.pk, first.pk, second.pk])

    assert [f.number for f in forms] == ["B-2", "B-1"]


def test_reading_forms_costs_the_same_queries_for_3_and_30_orders(tenant):
    ids = [make_order(tenant, external_id=f"Q-{n}").pk for n in range(30)]
    counts = []
    for some in (ids[:3], ids):
        with CaptureQueriesContext(connection) as queries:
            order_forms(tenant, some)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 6


def test_issuer_receipt_and_stamp_follow_the_settings_and_the_payment(tenant):
    card = make_order(tenant, external_id="C-1", lines=[line("KTL", 60_000)])
    transfer = make_order(
        tenant,
        external_id="C-2",
        lines=[line("KTL", 60_000)],
        payment_method=PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer"),
    )
    small = make_order(
        tenant,
        external_id="C-3",
        lines=[line("TEA", 1_000)],
        payment_method=PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer"),
    )
    DocumentSettings.objects.create(
        tenant=tenant, shop=card.shop, issuer_name="お茶の山田園", receipt_proviso="お品代として"
    )
    ReceiptDetails.objects.create(tenant=tenant, order=transfer, addressee="株式会社サンプル", proviso="贈答品代として")

    forms = {f.number: f for f in order_forms(tenant, [card.pk, transfer.pk, small.pk])}

    assert forms["C-1"].issuer.name == "お茶の山田園"
    assert (forms["C-1"].is_card, forms["C-1"].needs_stamp) == (True, False)  # a card receipt: no stamp
    assert forms["C-2"].needs_stamp  # ¥60,600 by transfer
    assert not forms["C-3"].needs_stamp  # under ¥50,000
    assert (forms["C-1"].receipt_addressee, forms["C-1"].receipt_proviso) == ("山田 太郎", "お品代として")
    assert (forms["C-2"].receipt_addressee, forms["C-2"].receipt_proviso) == ("株式会社サンプル", "贈答品代として")


def test_an_order_without_lines_is_refused_by_its_number(tenant):
    empty = make_order(tenant, external_id="E-1")
    OrderLine.objects.filter(order=empty).delete()
    full = make_order(tenant, external_id="E-2")

    found = printable(tenant, DocumentKind.DELIVERY_NOTE, [empty.pk, full.pk])

    assert [f.number for f in found.forms] == ["E-2"]
    assert found.refused == [(empty.pk, "E-1", "明細がないため印刷するものがありません")]


def test_marks_count_each_print_and_every_order_gets_its_event(tenant, operator):
    a, b = make_order(tenant, external_id="M-1"), make_order(tenant, external_id="M-2")
    actor = Actor.for_user(operator)

    mark_printed(tenant=tenant, kind=DocumentKind.RECEIPT, order_ids=[a.pk], actor=actor)
    mark_printed(tenant=tenant, kind=DocumentKind.RECEIPT, order_ids=[a.pk, b.pk], actor=actor, job=7)

    marks = {m.order_id: m for m in PrintMark.objects.filter(tenant=tenant)}
    assert (marks[a.pk].times, marks[b.pk].times) == (2, 1)
    assert marks[a.pk].last_printed_at > marks[a.pk].first_printed_at
    events = OrderEvent.objects.filter(type=EventType.DOCUMENT_PRINTED).order_by("pk")
    assert [(e.order_id, e.data["printed"]["times"], e.data["printed"]["job"]) for e in events] == [
        (a.pk, 1, None),
        (a.pk, 2, 7),
        (b.pk, 1, 7),
    ]
    assert {e.actor_name for e in events} == {"operator"}
    assert events[0].data["printed"]["name"] == "領収書"
    assert printed_before(tenant, DocumentKind.RECEIPT, [a.pk, b.pk]) == 2
    assert printed_before(tenant, DocumentKind.DELIVERY_NOTE, [a.pk, b.pk]) == 0
    assert order_forms(tenant, [a.pk])[0].reprint(DocumentKind.RECEIPT)


def test_a_job_over_the_limit_or_empty_is_refused_in_japanese(tenant):
    with pytest.raises(PrintRefused, match="10,001 件は1回の印刷ジョブの上限（10,000 件）を超えています"):
        job_create(
            tenant=tenant,
            kind=DocumentKind.DELIVERY_NOTE,
            order_ids=range(1, MAX_JOB_ORDERS + 2),
            actor=ACTOR,
            options={},
        )
    with pytest.raises(PrintRefused, match="印刷する受注を選んでください"):
        job_create(tenant=tenant, kind=DocumentKind.DELIVERY_NOTE, order_ids=[], actor=ACTOR, options={})
    assert not PrintJob.objects.exists()


def test_finished_jobs_are_pruned_with_their_files_and_running_ones_kept(tenant, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    old = PrintJob.objects.create(tenant=tenant, kind=DocumentKind.DELIVERY_NOTE, state=JobState.DONE)
    old.file.save("x.pdf", ContentFile(b"%PDF-1.7"))
    PrintJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - dt.timedelta(days=8))
    recent = PrintJob.objects.create(
        tenant=tenant, kind=DocumentKind.DELIVERY_NOTE, state=JobState.DONE, finished_at=timezone.now()
    )
    running = PrintJob.objects.create(tenant=tenant, kind=DocumentKind.DELIVERY_NOTE, state=JobState.RUNNING)
    path = old.file.path

    assert jobs_prune() == 1

    assert set(PrintJob.objects.values_list("pk", flat=True)) == {recent.pk, running.pk}
    assert not (tmp_path / path).exists()


def test_the_picking_list_sums_by_sku_and_options_with_the_shelf(tenant):
    Product.objects.create(tenant=tenant, sku="TEA", name="煎茶", location="A-02")
    Product.objects.create(tenant=tenant, sku="MUG", name="マグ", location="A-01")
    a = make_order(tenant, external_id="P-1", lines=[line("TEA", 1000, 2), line("MUG", 2000, 1, options="藍")])
    b = make_order(tenant, external_id="P-2", lines=[line("TEA", 1000, 1), line("MUG", 2000, 1, options="白")])
    c = make_order(tenant, external_id="P-3", lines=[line("", 500, 3), line("MUG", 2000, 2, options="藍")])

    forms = order_forms(tenant, [a.pk, b.pk, c.pk])
    by_sku = picking_rows(tenant, forms)
    by_shelf = picking_rows(tenant, forms, sort="location")

    assert [(r.sku, r.options, r.quantity, r.orders, r.location) for r in by_sku] == [
        ("MUG", "白", 1, ["P-2"], "A-01"),
        ("MUG", "藍", 3, ["P-1", "P-3"], "A-01"),
        ("TEA", "", 3, ["P-1", "P-2"], "A-02"),
        ("", "", 3, ["P-3"], ""),
    ]
    assert [r.location for r in by_shelf] == ["A-01", "A-01", "A-02", ""]
