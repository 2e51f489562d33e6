"""A long products CSV goes to a worker (nothing an operator uploads holds a web worker for seconds): the
upload hands the preview over, the import button the import, and the page asks every second (htmx) until the
worker's outcome is in the kept entry. Here the worker's part runs in this process from the queued on-commit
callback (`eager`); test_products_csv_real_worker.py runs it in a real `celery worker`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from inventory import kept as kept_files
from inventory.models import Product, StockMove
from inventory.tasks import IMPORT, products_csv_work

from .test_products_csv import product, upload

pytestmark = pytest.mark.django_db
FILE = "SKU,商品名,在庫数\r\nA-1,煎茶,5\r\nA-2,番茶,0\r\nA-3,玄米茶,7\r\nA-4,ほうじ茶,x\r\n"


@pytest.fixture(autouse=True)
def _long_is_three_rows(settings: Any) -> None:
    settings.LANGUAGE_CODE = "ja"
    settings.PRODUCTS_CSV_INLINE_ROWS = 3  # FILE's four rows are "long"


def eager(callbacks: list[Any]) -> None:
    """The worker's part of what the request queued, in this process."""
    from celery import current_app

    before = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        for callback in callbacks:
            callback()
    finally:
        current_app.conf.task_always_eager = before


def key_of(response: Any) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").split("/")[-1]


def page(client: Any, key: str, htmx: bool = False) -> Any:
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(reverse("products_csv_preview", args=[key]), **extra)
    assert response.status_code == 200
    return response


def test_a_long_file_is_read_and_imported_by_a_worker_while_the_page_follows(
    operator_client, tenant, operator, django_capture_on_commit_callbacks
):
    product(tenant, "A-1", 1)
    with django_capture_on_commit_callbacks() as queued:
        key = key_of(upload(operator_client, FILE))
    assert len(queued) == 1

    waiting = page(operator_client, key)
    html = waiting.content.decode()
    assert "4 行をバックグラウンドで読み込んでいます…" in html
    assert 'hx-trigger="every 1s"' in html
    assert "preview" not in waiting.context

    eager(queued)
    partial = page(operator_client, key, htmx=True).content.decode()  # the page's next question
    assert partial.startswith('<div id="csv-page">')  # the part only, and no more polling
    assert 'id="csv-summary"' in partial
    assert "hx-trigger" not in partial
    preview = page(operator_client, key).context["preview"]
    assert (preview["counts"]["new"], preview["counts"]["changed"], preview["counts"]["bad"]) == (2, 1, 1)
    error = partial[partial.index('<tr data-row="5">') :].split("</tr>")[0]  # A-4's bad stock, named in Japanese
    assert "A-4" in error
    assert "在庫数" in error
    assert preview["errors"][0]["message"] == "整数ではありません: 「x」"

    with django_capture_on_commit_callbacks() as imported:
        operator_client.post(reverse("products_csv_import", args=[key]))
        operator_client.post(reverse("products_csv_import", args=[key]))  # a double click queues nothing more
    assert len(imported) == 1
    assert "4 行をバックグラウンドで取り込んでいます…" in page(operator_client, key).content.decode()
    assert Product.objects.filter(tenant=tenant).count() == 1  # nothing written before the worker runs

    eager(imported)
    result = page(operator_client, key).context["result"]
    assert (result["created"], result["changed"], result["skipped"]) == (2, 1, 1)
    assert dict(Product.objects.filter(tenant=tenant).values_list("sku", "on_hand")) == {"A-1": 5, "A-2": 0, "A-3": 7}
    move = StockMove.objects.get(product__sku="A-3")
    assert (move.on_hand_change, move.actor_name, move.actor_user_id) == (7, operator.username, operator.pk)
    assert "text" not in kept_files.load(kept_files.entry_key(tenant.pk, operator.pk, key))  # the file dropped

    with django_capture_on_commit_callbacks() as again:
        operator_client.post(reverse("products_csv_import", args=[key]))
    assert again == []  # imported: nothing queued, nothing written twice
    assert StockMove.objects.count() == 2


def test_a_step_no_worker_finished_is_shown_failed_and_read_again_on_request(
    operator_client, tenant, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as lost:
        key = key_of(upload(operator_client, FILE))
    assert len(lost) == 1  # … and no worker ever takes it
    entry = kept_files.entry_key(tenant.pk, operator.pk, key)
    kept = kept_files.load(entry)
    since = dt.datetime.fromisoformat(kept["working"]["since"]) - dt.timedelta(seconds=kept_files.STALE_SECONDS + 1)
    kept_files.save(entry, {**kept, "working": {**kept["working"], "since": since.isoformat()}})

    html = page(operator_client, key).content.decode()
    assert "ファイルの処理が時間内に終わりませんでした" in html
    assert 'id="csv-retry"' in html
    assert "hx-trigger" not in html

    with django_capture_on_commit_callbacks() as retried:
        operator_client.post(reverse("products_csv_retry", args=[key]))
    eager(retried)
    html = page(operator_client, key).content.decode()
    assert 'id="csv-summary"' in html
    assert "時間内に終わりませんでした" not in html


def test_the_worker_leaves_an_expired_or_imported_entry_alone(tenant, operator):
    entry = kept_files.entry_key(tenant.pk, operator.pk, "f" * 32)
    assert products_csv_work(entry, tenant.pk, IMPORT, "ja", "operator", operator.pk) == {"step": IMPORT, "done": False}
    kept = kept_files.new_entry(filename="p.csv", text=FILE, encoding="utf-8", delimiter=",", rows=4)
    kept_files.save(entry, kept)

    first = products_csv_work(entry, tenant.pk, IMPORT, "ja", "operator", operator.pk)
    second = products_csv_work(entry, tenant.pk, IMPORT, "ja", "operator", operator.pk)  # delivered twice

    assert (first, second) == ({"step": IMPORT, "done": True}, {"step": IMPORT, "done": False})
    assert Product.objects.filter(tenant=tenant).count() == 3
    assert StockMove.objects.count() == 2


def test_a_refusal_in_the_worker_is_written_in_the_operators_language(tenant, operator):
    entry = kept_files.entry_key(tenant.pk, operator.pk, "e" * 32)
    kept_files.save(entry, kept_files.new_entry(filename="p.csv", text="商品名\n茶\n", encoding="utf-8",
                                                delimiter=",", rows=1))  # fmt: skip

    assert products_csv_work(entry, tenant.pk, IMPORT, "ja") == {"step": IMPORT, "done": False}

    assert "SKUの列がありません" in kept_files.load(entry)["error"]
