"""A long issued-data file goes to a worker (nothing an operator uploads holds a web worker for seconds): the
upload hands the matching over, the record button the applying, and the page asks every second (htmx) until
the worker's outcome is in the kept entry. Here the worker's part runs in this process from the queued
on-commit callback (`eager`); test_tracking_real_worker.py runs it in a real `celery worker`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backyard.models import Role
from orders.constants import EventType, Stage
from orders.models import Order, OrderEvent, Status
from shipping.models import Shipment, ShippingSettings, management_number_for
from shipping.services import issued_files
from tests.factories import PASSWORD, make_member
from tests.inventory.test_products_csv_worker import eager, key_of

from .test_tracking import b2_issued, exported, shipped_status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _long_is_three_rows(settings: Any) -> None:
    settings.LANGUAGE_CODE = "ja"
    settings.TRACKING_INLINE_ROWS = 3  # a header and three rows is "long"


def upload(client: Any, data: bytes) -> Any:
    return client.post(reverse("tracking_upload"), {"format": "b2cloud", "file": SimpleUploadedFile("i.csv", data)})


def page(client: Any, key: str, htmx: bool = False) -> str:
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(reverse("tracking_preview", args=[key]), **extra)
    assert response.status_code == 200
    return response.content.decode()


def test_a_long_file_is_matched_and_applied_by_a_worker_while_the_page_follows(
    operator_client, tenant, django_capture_on_commit_callbacks
):
    ready = Status.objects.for_tenant(tenant).filter(group__stage=Stage.READY_TO_SHIP).first()
    ShippingSettings.objects.create(
        tenant=tenant, status_after_export=ready, status_after_tracking=shipped_status(tenant)
    )
    one, two = exported(tenant)
    data = b2_issued(
        [
            (management_number_for(one.pk), "1234-5678-9012", "2026/12/04"),
            (management_number_for(two.pk), "223456789012", ""),
            ("BY9999999999", "323456789012", ""),
        ]
    )
    with django_capture_on_commit_callbacks() as queued:
        key = key_of(upload(operator_client, data))
    assert len(queued) == 1
    waiting = page(operator_client, key)
    assert "4 行をバックグラウンドで照合しています…" in waiting
    assert 'hx-trigger="every 1s"' in waiting
    assert 'id="tracking-apply"' not in waiting  # nothing to record before the worker matched the file

    eager(queued)
    partial = page(operator_client, key, htmx=True)
    assert partial.startswith('<div id="tracking-page"')  # the part only, and no more polling
    assert "hx-trigger" not in partial
    assert 'data-new="2" data-problems="1"' in partial
    assert "BY9999999999" in partial  # the row that cannot be applied, named
    assert Shipment.objects.for_tenant(tenant).count() == 0  # matching writes nothing

    with django_capture_on_commit_callbacks() as queued:
        operator_client.post(reverse("tracking_apply", args=[key]))
        operator_client.post(reverse("tracking_apply", args=[key]))  # a second click: still one task
    assert len(queued) == 1
    assert 'data-step="apply"' in page(operator_client, key, htmx=True)
    assert Shipment.objects.for_tenant(tenant).count() == 0
    eager(queued)
    done = page(operator_client, key, htmx=True)
    assert 'data-recorded="2" data-moved="2"' in done
    assert {o.status_id for o in Order.objects.for_tenant(tenant)} == {shipped_status(tenant).pk}
    assert "hx-trigger" not in done
    assert sorted(Shipment.objects.for_tenant(tenant).values_list("tracking_number", flat=True)) == [
        "123456789012",
        "223456789012",
    ]
    events = OrderEvent.objects.for_tenant(tenant).filter(type=EventType.TRACKING_REGISTERED)
    assert set(events.values_list("actor_name", flat=True)) == {"operator"}  # the operator who asked, by name
    [cache_key] = _keys(tenant, key)
    assert "text" not in cache.get(cache_key)  # the file's personal data is dropped once applied

    with django_capture_on_commit_callbacks() as queued:  # the same entry again: nothing queued, nothing more
        operator_client.post(reverse("tracking_apply", args=[key]))
    assert queued == []
    assert Shipment.objects.for_tenant(tenant).count() == 2


def test_a_worker_that_never_came_is_shown_failed_and_the_file_can_be_read_again(
    operator_client, tenant, django_capture_on_commit_callbacks
):
    one, two = exported(tenant)
    data = b2_issued(
        [(management_number_for(one.pk), "123456789012", ""), (management_number_for(two.pk), "223456789012", ""),
         ("BY0000000000", "323456789012", "")]
    )  # fmt: skip
    with django_capture_on_commit_callbacks():
        key = key_of(upload(operator_client, data))  # the task is never run: no worker took it
    [cache_key] = _keys(tenant, key)
    entry = cache.get(cache_key)
    entry["working"]["since"] = (timezone.now() - dt.timedelta(seconds=issued_files.STALE_SECONDS + 1)).isoformat()
    cache.set(cache_key, entry, 600)
    stale = page(operator_client, key)
    assert 'id="tracking-error"' in stale
    assert "時間内に終わりませんでした" in stale
    assert 'id="tracking-retry"' in stale
    with django_capture_on_commit_callbacks() as queued:
        operator_client.post(reverse("tracking_retry", args=[key]))
    eager(queued)
    again = page(operator_client, key)
    assert 'id="tracking-error"' not in again
    assert 'data-new="2" data-problems="1"' in again  # the third row's management number is not ours


def _keys(tenant: Any, key: str) -> list[str]:
    from django.contrib.auth import get_user_model

    return [f"shipping:issued:{tenant.pk}:{user.pk}:{key}" for user in get_user_model().objects.all()
            if cache.get(f"shipping:issued:{tenant.pk}:{user.pk}:{key}") is not None]  # fmt: skip


def test_a_file_of_too_many_rows_is_refused_at_the_upload(operator_client, tenant, monkeypatch):
    monkeypatch.setattr(issued_files, "MAX_ROWS", 3)
    response = upload(operator_client, b2_issued([(f"BY{n:010d}", f"{n:012d}", "") for n in range(1, 6)]))
    assert response.status_code == 200
    assert "分けてアップロードしてください" in response.content.decode()


def test_another_users_or_tenants_key_is_a_404(operator_client, tenant, other_tenant):
    one, _two = exported(tenant)
    key = key_of(upload(operator_client, b2_issued([(management_number_for(one.pk), "123456789012", "")])))
    others = []
    for member in (make_member(tenant, Role.OPERATOR, "colleague"), make_member(other_tenant, Role.ADMIN, "them")):
        client = Client()
        assert client.login(username=member.username, password=PASSWORD)
        others.append(client)
    for client in others:
        assert client.get(reverse("tracking_preview", args=[key])).status_code == 404
        assert client.post(reverse("tracking_retry", args=[key])).status_code == 404
        assert client.post(reverse("tracking_apply", args=[key])).status_code == 404
    assert Shipment.objects.count() == 0
