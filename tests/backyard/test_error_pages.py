"""The 400, 403, 404 and 500 pages: Japanese (English when chosen), styled like the rest, with a way back."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.views.defaults import server_error

from tests.factories import make_order


def test_another_tenants_order_is_a_japanese_404_page_with_a_way_back(operator_client, other_tenant):
    foreign = make_order(other_tenant)
    response = operator_client.get(reverse("order_detail", args=[foreign.pk]))
    body = response.content.decode()
    assert response.status_code == 404
    assert "ページが見つかりません" in body
    assert 'href="/orders/" id="error-home"' in body
    assert "backyard.css" in body  # the product's own page, not Django's bare one
    assert "Not Found" not in body


def test_the_404_page_is_english_when_english_is_chosen(operator_client, other_tenant):
    operator_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = operator_client.get("/orders/no-such-page/")
    assert response.status_code == 404
    assert "This page does not exist" in response.content.decode()


def test_a_user_of_no_company_gets_a_japanese_403_page(client, tenant):
    client.force_login(get_user_model().objects.create_user("nobody", password="x"))
    response = client.get(reverse("home"))
    body = response.content.decode()
    assert response.status_code == 403
    assert "このページは開けません" in body
    assert "403 Forbidden" not in body


def test_an_expired_form_gets_a_japanese_403_page(operator, tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post(reverse("order_bulk_cancel"), {"reason": "x"})
    body = response.content.decode()
    assert response.status_code == 403
    assert "フォームを送信できませんでした" in body
    assert "CSRF verification failed" not in body


@pytest.mark.django_db
def test_the_500_page_is_japanese_and_stands_alone(rf):
    """Rendered without the request's context (the error may have come from it), so it extends nothing."""
    response = server_error(rf.get("/orders/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "サーバーでエラーが発生しました" in body
    assert 'href="/"' in body
    assert "Server Error (500)" not in body
