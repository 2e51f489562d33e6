"""CSV import (T6) in Chromium: the operator uploads a Shift_JIS file, sees how its columns are read and the
row with a problem, changes a column, imports; the run page follows the import without a reload."""

from __future__ import annotations

import pytest

from orders.models import Order
from shops.constants import MallKind
from shops.models import CsvMapping, CsvUpload, ImportRun, RunStatus
from shops.services import shop_create
from shops.services.csvimport import csv_import_run
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, make_member
from tests.shops.test_csv_import import TEXT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_preview_and_import_a_shift_jis_file(page, live_server, tenant):
    user = make_member(tenant, username="csvoperator")
    shop = shop_create(tenant=tenant, name="自社カート", mall=MallKind.CSV, code="cart")
    login(page, live_server, user.username, PASSWORD)

    page.goto(f"{live_server.url}/shops/")
    page.click("#csv-import-link")
    page.select_option("#id_shop", str(shop.pk))
    page.set_input_files(
        "#id_file", files=[{"name": "受注.csv", "mimeType": "text/csv", "buffer": TEXT.encode("cp932")}]
    )
    shot(page, "csv-upload")
    with page.expect_navigation():
        page.click("#csv-upload-form button[type=submit]")

    summary = page.locator("#csv-summary")
    assert page.locator("#csv-encoding").inner_text() == "Shift_JIS (cp932)"
    assert (summary.get_attribute("data-new"), summary.get_attribute("data-failed")) == ("3", "1")
    assert "「千九百八十」は円単位の金額ではありません。" in page.locator("#csv-errors").inner_text()
    assert Order.objects.count() == 0  # a preview writes nothing
    # the ship-to name is not in this file: read it from the orderer's name column, and check again
    page.select_option("#id_col_dest_name", "注文者名")
    with page.expect_navigation():
        page.click("button[name=preview]")
    assert page.locator("#id_col_dest_name").input_value() == "注文者名"
    shot(page, "csv-preview")

    with page.expect_navigation():
        page.click("#csv-import")
    run = ImportRun.objects.get(shop=shop)
    assert run.status == RunStatus.QUEUED
    assert page.locator("#run-file").inner_text() == "受注.csv"
    # the worker's part, here in the test; the page sees it on its own (htmx, every second)
    csv_import_run(upload_id=CsvUpload.objects.get().pk, run_id=run.pk)
    page.wait_for_selector("#run-body .by-run-counts[data-new='3']")
    page.wait_for_function("!document.querySelector('#run-body .spinner-border')")
    assert "1 行目" not in page.locator("#run-failures").inner_text()
    assert "千九百八十" in page.locator("#run-failures").inner_text()
    shot(page, "csv-import-run")

    assert Order.objects.filter(shop=shop).count() == 3
    assert CsvMapping.objects.get(shop=shop).columns["dest_name"] == "注文者名"
