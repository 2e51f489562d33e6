"""Issue 16's "done means", on the demo tenant as `make run` seeds it: the operator exports the paid orders to
B2 Cloud (入金済 and 発送待ち by Yamato), uploads the issued data B2 Cloud gives back (devtools'
demo_issued_file plays B2 Cloud), and sees the orders shipped with their tracking numbers and their shipped
mail queued; the demo's Shopify store (the fake `make run` starts, adopting the seed's orders) is told of each
fulfillment of its orders."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from backyard.models import Tenant
from devtools.demo import DEMO_PASSWORD
from devtools.fakemalls.shopify import FakeShopify
from mailer.models import MailMessage
from orders.constants import Stage
from orders.models import Order
from shipping.models import Shipment, WaybillFormat
from shops.constants import MallKind
from shops.models import ReportState, ShipmentReport
from shops.services.reports import shipment_report_send

pytestmark = pytest.mark.django_db


def test_paid_orders_exported_issued_data_back_shipped_mailed_and_shopify_told(monkeypatch, tmp_path, settings):
    settings.LANGUAGE_CODE = "ja"
    with FakeShopify(first_number=50001, adopt_below=50001, seed=7) as fake:
        monkeypatch.setenv("BACKYARD_DEMO_MALL_PORT", str(fake.url.rsplit(":", 1)[1]))
        call_command("seed_demo", orders=300, stdout=StringIO())
        tenant = Tenant.objects.get(slug="demo")
        client = Client()
        assert client.login(username="demo_operator", password=DEMO_PASSWORD)
        paid = list(
            Order.objects.for_tenant(tenant)
            .filter(stage__in=[Stage.PAID, Stage.READY_TO_SHIP], delivery_method__carrier="yamato")
            .values_list("pk", flat=True)
        )
        assert len(paid) >= 5, "the demo has paid orders going by Yamato"
        client.get(reverse("home"))
        client.post(reverse("order_selection"), {"action": "add", "ids": paid})
        preview = client.post(reverse("waybill_export"), {"query": "", "next": "/orders/"})
        assert preview.status_code == 302, preview.content.decode()[:2000]
        key = preview["Location"].rstrip("/").split("/")[-1]
        download = client.post(reverse("waybill_download", args=[key]), {"format": WaybillFormat.B2CLOUD})
        assert download.status_code == 200, download.content.decode()[:2000]
        exported = b"".join(download.streaming_content) if download.streaming else download.content
        assert exported.count(b"\r\n") == len(paid) + 1  # the header and every order: none refused

        issued = tmp_path / "issued.csv"
        call_command("demo_issued_file", output=str(issued), stdout=StringIO())
        upload = client.post(
            reverse("tracking_upload"),
            {"format": WaybillFormat.B2CLOUD, "file": SimpleUploadedFile("issued.csv", issued.read_bytes())},
        )
        assert upload.status_code == 302
        client.post(reverse("tracking_apply", args=[upload["Location"].rstrip("/").split("/")[-1]]))

        shipped = set(Shipment.objects.for_tenant(tenant).values_list("order_id", flat=True))
        assert shipped
        assert shipped <= set(paid)
        moved = Order.objects.for_tenant(tenant).filter(pk__in=shipped)
        assert {order.status.name for order in moved.select_related("status")} == {"出荷済"}
        mailed = set(
            MailMessage.objects.for_tenant(tenant).filter(kind__code="shipped", order_id__in=shipped)
            .values_list("order_id", flat=True)
        )  # fmt: skip
        assert mailed == shipped

        shopify = Order.objects.for_tenant(tenant).filter(pk__in=shipped, shop__mall=MallKind.SHOPIFY)
        names = set(shopify.values_list("external_id", flat=True))
        assert names, "some of the paid orders are the Shopify store's"
        reports = ShipmentReport.objects.for_tenant(tenant).filter(order__in=shopify)
        for report in reports:
            shipment_report_send(report_id=report.pk)
        assert set(reports.values_list("state", flat=True)) == {ReportState.TOLD}
        assert {told["order"] for told in fake.fulfillments} == names
