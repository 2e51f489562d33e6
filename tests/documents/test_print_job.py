"""A bulk print job as the worker runs it (documents.services.printing.job_run, real WeasyPrint): chunks
concatenated into one PDF under the tenant's media, progress and pages counted, every printed order marked
with its event, an order without lines and a chunk that fails named by order number while the rest print,
and a second delivery that changes nothing."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest

from documents.models import DocumentKind, JobState, PrintMark
from documents.services.printing import job_create, job_run
from documents.services.render import CHUNK
from orders.constants import EventType
from orders.events import Actor
from orders.models import OrderEvent, OrderLine
from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def pages_of(path: str) -> int:
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def text_of(path: str) -> str:
    return subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True).stdout


def test_a_job_renders_in_chunks_into_one_pdf_and_marks_what_it_printed(tenant, operator):
    orders = [make_order(tenant, external_id=f"J-{n:03d}") for n in range(CHUNK + 3)]  # two chunks
    empty = make_order(tenant, external_id="J-EMPTY")
    OrderLine.objects.filter(order=empty).delete()
    ids = [o.pk for o in orders] + [empty.pk]
    job = job_create(
        tenant=tenant, kind=DocumentKind.DELIVERY_NOTE, order_ids=ids, actor=Actor.for_user(operator), options={}
    )

    done = job_run(tenant=tenant, job_id=job.pk)

    assert done is not None
    assert (done.state, done.total, done.done) == (JobState.DONE, CHUNK + 4, CHUNK + 4)
    assert done.failed == [["J-EMPTY", "明細がないため印刷するものがありません"]]
    path = done.file.path
    assert path.startswith(str(Path(done.file.storage.location) / f"tenants/{tenant.pk}/prints/"))
    assert pages_of(path) == done.pages == CHUNK + 3  # one page per order
    text = text_of(path)
    assert text.index("J-000") < text.index(f"J-{CHUNK:03d}") < text.index(f"J-{CHUNK + 2:03d}")
    assert PrintMark.objects.filter(tenant=tenant, kind=DocumentKind.DELIVERY_NOTE).count() == CHUNK + 3
    events = OrderEvent.objects.filter(type=EventType.DOCUMENT_PRINTED)
    assert events.count() == CHUNK + 3
    assert {e.data["printed"]["job"] for e in events} == {job.pk}
    assert {e.actor_name for e in events} == {operator.username}

    assert job_run(tenant=tenant, job_id=job.pk) is None  # delivered twice: finished, left alone
    assert OrderEvent.objects.filter(type=EventType.DOCUMENT_PRINTED).count() == CHUNK + 3


def test_a_chunk_that_fails_is_named_and_the_others_print(tenant, settings, tmp_path):
    # A template of this test (not the project's) that breaks on one order, as a rendering error would.
    folder = tmp_path / "templates" / "documents" / "pdf"
    folder.mkdir(parents=True)
    (folder / "delivery_note.html").write_text(
        '{% for form in forms %}{% if form.number == "F-001" %}{% include "no/such/part.html" %}{% endif %}'
        "<section>{{ form.number }}</section>{% endfor %}",
        encoding="utf-8",
    )
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path / "templates", *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    orders = [make_order(tenant, external_id=f"F-{n:03d}") for n in range(CHUNK + 2)]  # F-001 in chunk 1
    job = job_create(
        tenant=tenant,
        kind=DocumentKind.DELIVERY_NOTE,
        order_ids=[o.pk for o in orders],
        actor=Actor.system(),
        options={},
    )

    done = job_run(tenant=tenant, job_id=job.pk)

    assert done.state == JobState.DONE
    assert [number for number, _reason in done.failed] == [f"F-{n:03d}" for n in range(CHUNK)]
    assert {reason for _number, reason in done.failed} == {"PDFを作成できませんでした（TemplateDoesNotExist）"}
    printed = [word for word in text_of(done.file.path).split() if word.startswith("F-")]  # (the page footer aside)
    assert printed == [f"F-{CHUNK:03d}", f"F-{CHUNK + 1:03d}"]
    assert set(PrintMark.objects.values_list("order__external_id", flat=True)) == {
        f"F-{CHUNK:03d}",
        f"F-{CHUNK + 1:03d}",
    }


def test_a_job_of_orders_that_all_fail_ends_failed_and_says_why(tenant):
    empty = make_order(tenant, external_id="N-1")
    OrderLine.objects.filter(order=empty).delete()
    job = job_create(tenant=tenant, kind=DocumentKind.RECEIPT, order_ids=[empty.pk], actor=Actor.system(), options={})

    done = job_run(tenant=tenant, job_id=job.pk)

    assert (done.state, done.error, bool(done.file)) == (JobState.FAILED, "印刷できた受注がありません。", False)
    assert done.failed == [["N-1", "明細がないため印刷するものがありません"]]
