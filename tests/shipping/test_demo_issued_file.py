"""The demo's stand-in for B2 Cloud (devtools' `demo_issued_file`): the issued data it writes for the last B2
Cloud export reads back as B2 Cloud issued data and records a number for every order of that file."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from backyard.csvtext import decode
from backyard.models import Tenant
from shipping.models import Shipment, WaybillFormat
from shipping.services.tracking import issued_rows, mapping_for
from shipping.services.tracking import tracking_apply as apply

from .test_tracking import ACTOR, exported

pytestmark = pytest.mark.django_db


def test_the_issued_file_of_the_last_export_records_every_order_of_it(tenant: Tenant, tmp_path, capsys) -> None:
    with pytest.raises(CommandError, match="no B2 Cloud file"):
        call_command("demo_issued_file", tenant=tenant.slug, output=str(tmp_path / "none.csv"))
    exported(tenant, n=2)  # an earlier file: not in the issued data
    last = exported(tenant, n=3)
    out = tmp_path / "issued.csv"
    call_command("demo_issued_file", tenant=tenant.slug, output=str(out))
    assert "3 orders" in capsys.readouterr().out
    data = out.read_bytes()
    assert data.count(b"\r\n") == 4
    rows = issued_rows(decode(data), WaybillFormat.B2CLOUD, mapping_for(tenant, WaybillFormat.B2CLOUD))
    plan = apply(tenant=tenant, fmt=WaybillFormat.B2CLOUD, rows=rows, actor=ACTOR)
    assert plan.problems == []
    assert sorted(Shipment.objects.for_tenant(tenant).values_list("order_id", flat=True)) == [o.pk for o in last]


def test_an_unknown_tenant_is_named(db) -> None:
    with pytest.raises(CommandError, match="no tenant 'nobody'"):
        call_command("demo_issued_file", tenant="nobody")
