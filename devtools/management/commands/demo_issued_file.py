"""`manage.py demo_issued_file`: what Yamato's B2 Cloud would give back for the demo's last B2 Cloud export.

In production the operator prints the waybills in B2 Cloud and downloads its issued data (発行済データ), which
holds the tracking number (伝票番号) B2 Cloud gave each row. The demo has no B2 Cloud: this command plays its
part for the latest B2 Cloud file exported by the tenant, writing the issued data (the export's layout with
伝票番号 and 出荷予定日 filled, cp932, CRLF, with the header row) for each order of that file, with a 12-digit
number of Yamato's shape, so that a newcomer can try 送り状番号 → 発行済データの取込 end to end. The numbers are
made up (the same order gets the same number), so their tracking links lead nowhere.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from backyard.models import Tenant
from devtools.demo import DEMO_SLUG
from shipping.formats import b2cloud
from shipping.models import WaybillExport, WaybillFormat, WaybillMark


def demo_tracking_number(order_id: int) -> str:
    """A 12-digit number of Yamato's shape, the same for the same order (made up: "9" + the id)."""
    return f"9{order_id:011d}"


def issued_file(*, tenant: Tenant, export: WaybillExport) -> tuple[bytes, int]:
    """B2 Cloud's issued data for the orders whose last B2 Cloud file is `export`, and how many rows."""
    marks = WaybillMark.objects.for_tenant(tenant).filter(export=export).order_by("order_id")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(b2cloud.HEADER)
    today = timezone.localdate().strftime("%Y/%m/%d")
    rows = 0
    for number, order_id in marks.values_list("management_number", "order_id"):
        row = [""] * len(b2cloud.HEADER)
        row[b2cloud.MANAGEMENT_NUMBER] = number
        row[b2cloud.TRACKING_NUMBER] = demo_tracking_number(order_id)
        row[b2cloud.SHIP_DATE] = today
        writer.writerow(row)
        rows += 1
    return buffer.getvalue().encode("cp932"), rows


class Command(BaseCommand):
    help = "Write the issued data B2 Cloud would give back for the demo tenant's last B2 Cloud export."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default=DEMO_SLUG, help=f"The tenant's slug ({DEMO_SLUG}).")
        parser.add_argument("--output", default="", help="Where to write it (var/demo/b2cloud-issued-<file>.csv).")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}: run `manage.py seed_demo` (or `make run`) first")
        export = WaybillExport.objects.for_tenant(tenant).filter(format=WaybillFormat.B2CLOUD).order_by("-pk").first()
        if export is None:
            raise CommandError(
                "no B2 Cloud file has been exported yet: on the order list, select orders and choose "
                "送り状出力 → ヤマト B2クラウド, then run this again"
            )
        data, rows = issued_file(tenant=tenant, export=export)
        default = Path(settings.VAR_DIR) / "demo" / f"b2cloud-issued-{export.pk}.csv"
        path = Path(options["output"]) if options["output"] else default
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.stdout.write(
            f"{path}: issued data of {rows} orders of {export.filename}. Upload it at 送り状番号 → 発行済データの取込 "
            "(ヤマト B2クラウド)."
        )
