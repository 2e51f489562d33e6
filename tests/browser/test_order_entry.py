"""An operator takes a phone order in Chromium: the postal code fills the address, lines add up, it saves."""

from __future__ import annotations

import pytest

from orders.models import Order
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _value(pw_page, name: str) -> str:
    return pw_page.eval_on_selector(f"[name='{name}']", "el => el.value")


def test_postal_code_fills_the_address_and_the_order_saves(page, live_server, tenant, operator):
    login(page, live_server, operator.username, PASSWORD)
    page.goto(f"{live_server.url}/orders/new/")

    page.fill("[name=orderer_name]", "山田 花子")
    page.fill("[name=orderer_phone]", "03-1234-5678")
    page.fill("[name=orderer_address1]", "1-9-1")  # the street number first, the postal code after
    page.click("[name=orderer_postal_code]")
    page.keyboard.type("〒１００－０００５")
    page.keyboard.press("Tab")
    page.wait_for_selector("#orderer-postal-result [data-postal='found']")
    page.wait_for_function("document.querySelector('[name=orderer_city]').value === '千代田区'")
    assert _value(page, "orderer_prefecture") == "東京都"
    assert _value(page, "orderer_address1") == "丸の内1-9-1"
    page.wait_for_function("document.querySelector('[name=orderer_postal_code]').value === '100-0005'")
    assert page.evaluate("document.activeElement.name") == "orderer_address1"  # ready for the building
    # the destination follows the orderer while "same as the orderer" is on
    assert _value(page, "dest_city") == "千代田区"
    assert _value(page, "dest_address1") == "丸の内1-9-1"

    # a different destination with an unknown code: a message, nothing filled
    page.click("label[for=id_same_as_orderer]")
    page.fill("[name=dest_city]", "")
    page.fill("[name=dest_postal_code]", "999-9999")
    page.keyboard.press("Tab")
    page.wait_for_selector("#dest-postal-result [data-postal='missing']")
    assert "999-9999" in page.inner_text("#dest-postal-result")
    assert _value(page, "dest_city") == ""
    # back to the same address
    page.click("label[for=id_same_as_orderer]")
    assert _value(page, "dest_postal_code") == "100-0005"
    assert page.inner_text("#dest-postal-result") == ""

    page.fill("[name='lines-0-name']", "有機緑茶 100g")
    page.fill("[name='lines-0-unit_price']", "1080")
    page.fill("[name='lines-0-quantity']", "2")
    page.click("#add-line")
    assert _value(page, "lines-TOTAL_FORMS") == "4"
    page.fill("[name='lines-3-name']", "湯呑み")
    page.fill("[name='lines-3-unit_price']", "2200")
    page.fill("[name=shipping_fee]", "600")
    assert page.inner_text("#sum-total") == "¥4,960"
    page.locator("#line-rows tr").nth(3).locator(".by-remove").click()
    assert page.inner_text("#sum-total") == "¥2,760"
    shot(page, "order-entry-filled")

    with page.expect_navigation():
        page.click("#entry-submit")
    order = Order.objects.get(tenant=tenant)
    assert page.url.endswith(f"/orders/{order.pk}/")
    assert (order.dest_prefecture, order.dest_city, order.dest_address1) == ("東京都", "千代田区", "丸の内1-9-1")
    assert order.orderer_postal_code == "100-0005"
    assert [line.name for line in order.lines.all()] == ["有機緑茶 100g"]
    assert order.total == 2760
