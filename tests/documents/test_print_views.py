"""Printing from the order screens (issue 15, item 3): the list's selection with the forms chooser, the question
before printing again, a PDF at once for a few orders, a job for more (queued after the commit; its page
follows it; the PDF is the tenant's alone), the search page with B10's filters, the order page's panel and
receipt details, the "printed" mark on the list, and the query counts of the list and the job page."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from documents.models import DocumentKind, DocumentSettings, JobState, PrintJob, PrintMark, ReceiptDetails
from documents.services.printing import MAX_JOB_ORDERS
from documents.tasks import run_print_job
from orders.constants import EventType, Stage
from orders.models import Order, OrderEvent, OrderLine, Status
from tests.factories import make_order

pytestmark = pytest.mark.django_db

LINES = [
    {"sku": "TEA-001", "name": "有機緑茶 100g", "unit_price": 1080, "quantity": 2, "tax_rate": 8},
    {"sku": "CUP-010", "name": "有田焼 湯呑み", "unit_price": 2200, "quantity": 1, "tax_rate": 10},
]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def orders(tenant: Any, n: int, prefix: str = "P") -> list[Order]:
    return [make_order(tenant, external_id=f"{prefix}-{i:04d}", lines=LINES) for i in range(1, n + 1)]


def select(client: Any, picked: list[Order]) -> None:
    client.get(reverse("home"))
    response = client.post(reverse("order_selection"), {"action": "add", "ids": [o.pk for o in picked]})
    assert response.status_code in {200, 302}


def post_print(client: Any, follow: bool = False, **data: Any) -> Any:
    return client.post(reverse("documents_print"), {"query": "", "next": "/orders/", **data}, follow=follow)


def pdf_pages(data: bytes, tmp_path: Path) -> int:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout  # noqa: S607
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(data)
    return subprocess.run(  # noqa: S603
        ["pdftotext", "-layout", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,  # noqa: S607
    ).stdout


def run_job(tenant: Any, job: PrintJob) -> None:
    """The worker's part, in this process: run_print_job and the part tasks it queues run eagerly."""
    from celery import current_app

    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        run_print_job.delay(tenant.pk, job.pk)
    finally:
        current_app.conf.task_always_eager = eager


def printed_events(tenant: Any) -> list[OrderEvent]:
    return list(OrderEvent.objects.for_tenant(tenant).filter(type=EventType.DOCUMENT_PRINTED).order_by("pk"))


# --- the list's selection ----------------------------------------------------------------------------------


def test_the_list_offers_print_forms_beside_f11(operator_client, tenant):
    orders(tenant, 1)
    page = operator_client.get(reverse("home"), follow=True).content.decode()
    assert 'id="print-forms"' in page
    assert f'action="{reverse("documents_print")}"' in page
    assert "帳票印刷" in page


def test_without_a_form_chosen_the_page_asks_which(operator_client, tenant):
    picked = orders(tenant, 2)
    select(operator_client, picked)

    response = post_print(operator_client)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-count="2"' in page
    for kind in DocumentKind:
        assert f'id="print-kind-{kind.value}"' in page
    assert "納品書" in page
    assert "ピッキングリスト" in page
    assert not PrintMark.objects.exists()


def test_a_few_orders_print_at_once_as_one_pdf_with_marks_and_events(operator_client, tenant, tmp_path):
    picked = orders(tenant, 3)
    select(operator_client, picked)

    response = post_print(operator_client, kinds=["delivery_note"])

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert re.fullmatch(r'inline; filename="delivery_note-\d{8}-\d{4}\.pdf"', response["Content-Disposition"])
    assert response.content.startswith(b"%PDF")
    assert pdf_pages(response.content, tmp_path) == 3
    assert "P-0002" in pdf_text(response.content, tmp_path)
    marks = PrintMark.objects.for_tenant(tenant).filter(kind="delivery_note")
    assert sorted(marks.values_list("order_id", flat=True)) == sorted(o.pk for o in picked)
    events = printed_events(tenant)
    assert sorted(e.order_id for e in events) == sorted(o.pk for o in picked)
    assert {e.actor_user_id for e in events} == {int(operator_client.session["_auth_user_id"])}
    assert {e.data["printed"]["kind"] for e in events} == {"delivery_note"}


def test_two_forms_at_once_make_one_pdf(operator_client, tenant, tmp_path):
    picked = orders(tenant, 2)
    select(operator_client, picked)

    response = post_print(operator_client, kinds=["delivery_note", "picking_list"], sort="sku", orientation="landscape")

    assert response["Content-Type"] == "application/pdf"
    assert 'filename="forms-' in response["Content-Disposition"]
    assert pdf_pages(response.content, tmp_path) >= 3  # two delivery notes and the picking list
    text = pdf_text(response.content, tmp_path)
    assert "ピッキングリスト" in text
    assert set(PrintMark.objects.for_tenant(tenant).values_list("kind", flat=True)) == {"delivery_note", "picking_list"}


def test_printing_again_asks_first_naming_how_many(operator_client, tenant):
    picked = orders(tenant, 3)
    select(operator_client, picked[:1])
    assert post_print(operator_client, kinds=["delivery_note"])["Content-Type"] == "application/pdf"
    select(operator_client, picked)
    events = len(printed_events(tenant))

    response = post_print(operator_client, kinds=["delivery_note"])

    assert response.status_code == 200
    page = response.content.decode()
    assert "納品書: 選択した 3 件のうち 1 件は印刷済みです。" in page
    assert "もう一度印刷する" in page
    assert "未印刷の分だけ印刷する" in page
    assert 'id="print-again-reissue"' not in page  # no receipt among the forms: no word of 再発行
    assert len(printed_events(tenant)) == events  # nothing printed by the question

    again = post_print(operator_client, kinds=["delivery_note"], again="1")
    assert again["Content-Type"] == "application/pdf"
    assert PrintMark.objects.get(order=picked[0], kind="delivery_note").times == 2
    assert PrintMark.objects.get(order=picked[1], kind="delivery_note").times == 1


def test_printing_only_those_not_printed_yet(operator_client, tenant, tmp_path):
    picked = orders(tenant, 3)
    select(operator_client, picked[:2])
    post_print(operator_client, kinds=["delivery_note"])
    select(operator_client, picked)

    response = post_print(operator_client, kinds=["delivery_note"], again="new")

    assert pdf_pages(response.content, tmp_path) == 1
    assert "P-0003" in pdf_text(response.content, tmp_path)
    assert PrintMark.objects.get(order=picked[0], kind="delivery_note").times == 1


def test_an_order_without_lines_is_named_and_nothing_printed(operator_client, tenant):
    empty = make_order(tenant, external_id="EMPTY-1")
    OrderLine.objects.filter(order=empty).delete()
    select(operator_client, [empty])

    response = post_print(operator_client, kinds=["delivery_note"])

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "EMPTY-1: 明細がないため印刷するものがありません" in response.content.decode()
    assert not PrintMark.objects.exists()


def test_an_order_without_lines_beside_printable_ones_prints_the_others(operator_client, tenant, tmp_path):
    empty = make_order(tenant, external_id="EMPTY-2")
    OrderLine.objects.filter(order=empty).delete()
    good = orders(tenant, 1)
    select(operator_client, [empty, *good])

    response = post_print(operator_client, kinds=["order_sheet"])

    assert pdf_pages(response.content, tmp_path) == 1
    shown = operator_client.get(reverse("documents_jobs")).content.decode()  # the message waits for the next page
    assert "EMPTY-2: 明細がないため印刷するものがありません" in shown


def test_nothing_selected_says_so(operator_client, tenant):
    orders(tenant, 1)
    operator_client.get(reverse("home"))

    response = post_print(operator_client, kinds=["delivery_note"], follow=True)

    assert "印刷する受注を選んでください。" in response.content.decode()


def test_the_question_which_orders_comes_first(operator_client, tenant):
    new = Status.objects.for_tenant(tenant).filter(group__stage=Stage.NEW).order_by("group__position", "position")[0]
    waiting = Status.objects.for_tenant(tenant).filter(group__stage=Stage.AWAITING_PAYMENT)[0]
    shown = make_order(tenant, external_id="Q-1", status=new)
    hidden = make_order(tenant, external_id="Q-2", status=waiting)
    select(operator_client, [shown, hidden])

    response = post_print(operator_client, kinds=["delivery_note"], query=f"status={new.pk}")

    assert "選択中の 2 件のうち 1 件はこの一覧に表示されていません。" in response.content.decode()
    assert not PrintMark.objects.exists()


# --- jobs ----------------------------------------------------------------------------------------------------


def test_more_orders_make_a_job_queued_on_commit_that_renders_a_downloadable_pdf(
    operator_client, tenant, settings, tmp_path, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    settings.DOCUMENTS_INLINE_ORDERS = 2
    picked = orders(tenant, 3)
    select(operator_client, picked)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = post_print(operator_client, kinds=["delivery_note"])

    job = PrintJob.objects.for_tenant(tenant).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("documents_job", args=[job.pk])
    assert len(queued) == 1
    assert (job.state, job.total, job.kind) == (JobState.QUEUED, 3, "delivery_note")
    assert not PrintMark.objects.exists()

    with django_assert_max_num_queries(8):
        page = operator_client.get(reverse("documents_job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert 'data-done="0" data-total="3"' in page
    assert "print-job-download" not in page

    run_job(tenant, job)

    job.refresh_from_db()
    assert job.state == JobState.DONE
    part = operator_client.get(reverse("documents_job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' not in part  # done: the page stops asking
    assert 'data-done="3" data-total="3" data-pages="3"' in part
    assert 'id="print-job-download"' in part
    download = operator_client.get(reverse("documents_job_download", args=[job.pk]))
    data = b"".join(download.streaming_content)
    assert download["Content-Type"] == "application/pdf"
    assert data.startswith(b"%PDF")
    assert pdf_pages(data, tmp_path) == 3
    assert PrintMark.objects.for_tenant(tenant).count() == 3
    assert {e.order_id for e in printed_events(tenant)} == {o.pk for o in picked}
    jobs = operator_client.get(reverse("documents_jobs")).content.decode()
    assert f'data-job="{job.pk}" data-state="done"' in jobs


def test_a_job_names_the_orders_it_could_not_print(operator_client, tenant, settings):
    settings.DOCUMENTS_INLINE_ORDERS = 1
    empty = make_order(tenant, external_id="EMPTY-J")
    OrderLine.objects.filter(order=empty).delete()
    good = orders(tenant, 2)
    select(operator_client, [empty, *good])
    post_print(operator_client, kinds=["receipt"])
    job = PrintJob.objects.for_tenant(tenant).get()

    run_job(tenant, job)

    page = operator_client.get(reverse("documents_job", args=[job.pk])).content.decode()
    assert 'id="print-job-failed"' in page
    assert "EMPTY-J" in page
    assert "明細がないため印刷するものがありません" in page
    assert 'id="print-job-download"' in page


def many_orders(tenant: Any, n: int) -> None:
    """`n` orders as rows (copies of one order made through the service), fast enough for 10,001."""
    first = make_order(tenant, external_id="MANY-0")
    values = dict(Order.objects.filter(pk=first.pk).values().get())
    values.pop("id")
    Order.objects.bulk_create([Order(**{**values, "external_id": f"MANY-{i}"}) for i in range(1, n)], batch_size=2_000)


def test_more_than_ten_thousand_orders_are_refused_in_japanese(
    operator_client, tenant, django_capture_on_commit_callbacks
):
    many_orders(tenant, MAX_JOB_ORDERS + 1)
    day = Order.objects.for_tenant(tenant).first().ordered_at.date().isoformat()

    page = operator_client.get(reverse("documents_search"), {"ordered_from": day}).content.decode()
    assert 'data-count="10001"' in page
    assert "10,001 件は1回の印刷ジョブの上限（10,000 件）を超えています。" in page
    assert 'id="print-submit"' not in page

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = operator_client.post(reverse("documents_search"), {"ordered_from": day, "kinds": ["delivery_note"]})
    assert "上限（10,000 件）を超えています" in response.content.decode()
    assert not queued
    assert not PrintJob.objects.exists()

    operator_client.get(reverse("home"))
    operator_client.post(reverse("order_selection"), {"action": "all_matching", "query": ""})
    response = post_print(operator_client, kinds=["delivery_note"])
    assert "上限（10,000 件）を超えています" in response.content.decode()
    assert not PrintJob.objects.exists()


def test_the_search_page_counts_and_prints_the_matching_orders(operator_client, tenant, settings):
    settings.DOCUMENTS_INLINE_ORDERS = 1
    picked = orders(tenant, 3)
    Order.objects.filter(pk=picked[0].pk).update(ship_date="2026-12-10")
    Order.objects.filter(pk__in=[picked[1].pk, picked[2].pk]).update(ship_date="2026-12-11")

    page = operator_client.get(reverse("documents_search"), {"ship_from": "2026-12-11", "ship_to": "2026-12-11"})
    assert 'data-count="2"' in page.content.decode()
    for name in ("ordered_from", "ordered_to", "ship_from", "ship_to", "shop", "status"):
        assert f'name="{name}"' in page.content.decode()

    response = operator_client.post(
        reverse("documents_search"), {"ship_from": "2026-12-11", "ship_to": "2026-12-11", "kinds": ["picking_list"]}
    )

    job = PrintJob.objects.for_tenant(tenant).get()
    assert response["Location"] == reverse("documents_job", args=[job.pk])
    assert sorted(job.order_ids) == sorted([picked[1].pk, picked[2].pk])


def test_the_search_page_refuses_another_tenants_shop(operator_client, tenant, other_tenant):
    from tests.factories import ShopFactory

    theirs = ShopFactory(tenant=other_tenant, name="他社の秘密の店")
    orders(tenant, 1)
    page = operator_client.get(reverse("documents_search"), {"shop": theirs.pk}).content.decode()
    assert 'data-count="0"' in page
    assert theirs.name not in page


# --- the order page -------------------------------------------------------------------------------------------


def test_the_order_page_loads_the_print_panel(operator_client, tenant):
    order = orders(tenant, 1)[0]
    page = operator_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert f'hx-get="{reverse("documents_order", args=[order.pk])}"' in page

    panel = operator_client.get(reverse("documents_order", args=[order.pk]), HTTP_HX_REQUEST="true").content.decode()
    for kind in DocumentKind:
        assert f'id="order-print-{kind.value}"' in panel
    assert 'id="receipt-form"' in panel


def test_get_never_prints_and_post_prints_one_order(operator_client, tenant, tmp_path):
    order = orders(tenant, 1)[0]
    operator_client.get(reverse("documents_order", args=[order.pk]))
    assert not PrintMark.objects.exists()

    response = operator_client.post(reverse("documents_order", args=[order.pk]), {"kind": "invoice"})

    assert response["Content-Type"] == "application/pdf"
    assert 'filename="invoice-' in response["Content-Disposition"]
    assert pdf_pages(response.content, tmp_path) == 1
    assert PrintMark.objects.get(order=order).kind == "invoice"
    assert [e.order_id for e in printed_events(tenant)] == [order.pk]


def test_the_order_page_asks_before_printing_a_receipt_again(operator_client, tenant, tmp_path):
    order = orders(tenant, 1)[0]
    url = reverse("documents_order", args=[order.pk])
    operator_client.post(url, {"kind": "receipt"})

    question = operator_client.post(url, {"kind": "receipt"})
    assert "もう一度印刷する" in question.content.decode()
    assert "もう一度印刷した領収書には「再発行」と入ります。" in question.content.decode()
    assert PrintMark.objects.get(order=order).times == 1

    again = operator_client.post(url, {"kind": "receipt", "again": "1"})
    assert again["Content-Type"] == "application/pdf"
    assert "再発行" in pdf_text(again.content, tmp_path)
    panel = operator_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-printed="2"' in panel


def test_an_unknown_kind_prints_nothing(operator_client, tenant):
    order = orders(tenant, 1)[0]
    response = operator_client.post(reverse("documents_order", args=[order.pk]), {"kind": "nonsense"}, follow=True)
    assert "印刷する帳票を選んでください。" in response.content.decode()
    assert not PrintMark.objects.exists()


def test_the_receipt_addressee_and_proviso_are_kept_and_printed(operator_client, tenant, tmp_path):
    order = orders(tenant, 1)[0]
    url = reverse("documents_receipt", args=[order.pk])

    part = operator_client.post(
        url, {"addressee": "株式会社ヤマダ商事", "proviso": "贈答用お茶代として"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert 'id="receipt-saved"' in part
    details = ReceiptDetails.objects.get(order=order)
    assert (details.addressee, details.proviso, details.tenant_id) == (
        "株式会社ヤマダ商事",
        "贈答用お茶代として",
        tenant.pk,
    )
    pdf = operator_client.post(reverse("documents_order", args=[order.pk]), {"kind": "receipt"}).content
    text = pdf_text(pdf, tmp_path)
    assert "株式会社ヤマダ商事" in text
    assert "贈答用お茶代として" in text


# --- tenancy ----------------------------------------------------------------------------------------------------


PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00"
    b"\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def logo_of(tenant: Any) -> DocumentSettings:
    from django.core.files.base import ContentFile

    from shops.models import Shop

    shop = Shop.objects.for_tenant(tenant).first()
    assert shop is not None
    row = DocumentSettings.objects.create(tenant=tenant, shop=shop, issuer_name="テスト発行者")
    row.logo.save("logo.png", ContentFile(PNG_1PX))
    return row


def done_job(tenant: Any) -> PrintJob:
    from django.core.files.base import ContentFile

    job = PrintJob.objects.create(tenant=tenant, kind="delivery_note", state=JobState.DONE, total=1, done=1)
    job.file.save("x.pdf", ContentFile(b"%PDF-1.7 test"))
    return job


def test_another_tenants_job_pdf_order_and_logo_are_404(operator_client, tenant, other_tenant):
    job, theirs_job = done_job(tenant), done_job(other_tenant)
    order, theirs_order = orders(tenant, 1)[0], orders(other_tenant, 1, "O")[0]
    logo, theirs_logo = logo_of(tenant), logo_of(other_tenant)

    assert operator_client.get(reverse("documents_job", args=[job.pk])).status_code == 200
    assert operator_client.get(reverse("documents_job_download", args=[job.pk])).status_code == 200
    assert operator_client.get(reverse("documents_logo", args=[logo.pk]))["Content-Type"] == "image/png"
    assert operator_client.get(reverse("documents_job", args=[theirs_job.pk])).status_code == 404
    assert operator_client.get(reverse("documents_job_download", args=[theirs_job.pk])).status_code == 404
    assert operator_client.get(reverse("documents_logo", args=[theirs_logo.pk])).status_code == 404
    assert operator_client.get(reverse("documents_seal", args=[logo.pk])).status_code == 404  # none uploaded
    assert (
        operator_client.post(reverse("documents_order", args=[theirs_order.pk]), {"kind": "receipt"}).status_code == 404
    )
    assert (
        operator_client.post(reverse("documents_receipt", args=[theirs_order.pk]), {"addressee": "x"}).status_code
        == 404
    )
    assert not PrintMark.objects.exists()
    assert not ReceiptDetails.objects.exists()
    jobs = operator_client.get(reverse("documents_jobs")).content.decode()
    assert f'data-job="{job.pk}"' in jobs
    assert f'data-job="{theirs_job.pk}"' not in jobs
    assert order.pk


def test_a_job_not_done_has_nothing_to_download(operator_client, tenant):
    job = PrintJob.objects.create(tenant=tenant, kind="delivery_note", total=1)
    assert operator_client.get(reverse("documents_job_download", args=[job.pk])).status_code == 404


# --- the list's "printed" mark and query counts -----------------------------------------------------------------


def list_queries(client: Any) -> tuple[int, str]:
    """The list's queries for a search showing every order (after one request that fills the caches: the status
    tree's unsent-mail counts are cached once the orders changed)."""
    client.get(reverse("home"), {"q": "", "ordered_from": "2000-01-01"})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("home"), {"q": "", "ordered_from": "2000-01-01"})
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_the_list_shows_the_printed_mark_at_a_fixed_number_of_queries(
    operator_client, tenant, settings, django_assert_max_num_queries
):
    settings.DOCUMENTS_INLINE_ORDERS = 100
    picked = orders(tenant, 3)
    operator_client.get(reverse("home"), follow=True)
    select(operator_client, picked[:2])
    post_print(operator_client, kinds=["delivery_note", "picking_list"])
    few, page = list_queries(operator_client)
    assert page.count('class="by-printed badge') == 2
    assert 'title="印刷済: ピッキングリスト, 納品書"' in page

    more = orders(tenant, 30, "M")
    select(operator_client, more)
    post_print(operator_client, kinds=["delivery_note"], again="1")
    many, page = list_queries(operator_client)

    assert page.count('class="by-printed badge') >= 30
    assert many == few
    with django_assert_max_num_queries(few):
        operator_client.get(reverse("home"), {"q": "", "ordered_from": "2000-01-01"})
