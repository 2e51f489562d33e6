"""Auto-processing in Chromium: a tenant admin writes a rule with the builder in admin, an operator runs
auto-processing on the selected orders and sees them move, and the task counts and badges that follow."""

from __future__ import annotations

import pytest

from automation.models import Rule, RuleGroup
from orders.constants import Stage
from orders.models import Order, Status
from tests.browser.conftest import login, shot
from tests.factories import PASSWORD, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOKKAIDO = {
    "dest_postal_code": "060-0001",
    "dest_prefecture": "北海道",
    "dest_city": "札幌市中央区",
    "dest_address1": "北一条西1-1",
}


def test_an_admin_writes_a_rule_and_an_operator_runs_it(page, live_server, tenant, tenant_admin, operator):
    RuleGroup.objects.for_tenant(tenant).update(enabled=False)  # the default rules would sort these first
    group = RuleGroup.objects.create(tenant=tenant, name="地域別の処理", position=0)
    statuses = list(Status.objects.for_tenant(tenant).select_related("group").order_by("group__position", "position"))
    new, check = (s for s in statuses if s.group.stage == Stage.NEW)
    north = [make_order(tenant, external_id=f"HOKKAIDO-{i}", **HOKKAIDO) for i in range(2)]
    south = make_order(tenant, external_id="TOKYO-1", remarks="のしを付けてください")

    # the admin: a new rule, built with selects, no JSON typed
    login(page, live_server, tenant_admin.username, PASSWORD)
    page.goto(f"{live_server.url}/admin/automation/rule/add/")
    page.select_option("#id_group", str(group.pk))
    page.fill("#id_name", "北海道は要確認へ")
    page.select_option("#id_statuses_from", str(new.pk))
    page.click("#id_statuses_add")
    builder = page.locator(".by-builder[data-builder=conditions]")
    builder.get_by_role("button", name="条件を追加").click()
    row = builder.locator(".by-builder-row").last
    row.locator("select").nth(0).select_option("dest_prefecture")
    row.locator("select").nth(1).select_option("eq")
    row.locator("select").nth(2).select_option("北海道")
    actions = page.locator(".by-builder[data-builder=actions]")
    actions.get_by_role("button", name="アクションを追加").click()
    action = actions.locator(".by-builder-row").last
    action.locator("select").nth(0).select_option("move_status")
    action.locator("select").nth(1).select_option(str(check.pk))
    shot(page, "admin-rule-builder")
    with page.expect_navigation():
        page.click("input[name=_save]")
    rule = Rule.objects.get(tenant=tenant, name="北海道は要確認へ")
    assert rule.conditions == {"match": "all", "items": [{"field": "dest_prefecture", "op": "eq", "value": "北海道"}]}
    assert rule.actions == [{"type": "move_status", "status": check.pk}]
    assert list(rule.statuses.all()) == [new]

    # before switching it on for real, the admin asks what it would do: nothing changes
    page.goto(f"{live_server.url}/admin/automation/rule/")
    page.check(f"input[name=_selected_action][value='{rule.pk}']")
    page.select_option("select[name=action]", "dry_run_rules")
    with page.expect_navigation():
        page.click("button[name=index]")
    report = page.inner_text("#content")
    assert "HOKKAIDO-0" in report and "HOKKAIDO-1" in report and "TOKYO-1" not in report  # noqa: PT018
    shot(page, "admin-rule-dry-run")
    assert {o.status_id for o in Order.objects.filter(pk__in=[o.pk for o in north])} == {new.pk}

    # the operator: select the page, run auto-processing
    page.context.clear_cookies()
    login(page, live_server, operator.username, PASSWORD)
    assert page.locator(f'#status-tree a[data-status-id="{new.pk}"] [data-count]').inner_text() == "3"
    page.click("[data-select=page]")
    page.wait_for_function("document.getElementById('selection-count').dataset.count === '3'")
    with page.expect_navigation():
        page.click("#process-selected")
    assert "自動処理" in page.inner_text(".alert-success")
    assert page.locator(f'#status-tree a[data-status-id="{new.pk}"] [data-count]').inner_text() == "1"
    assert page.locator(f'#status-tree a[data-status-id="{check.pk}"] [data-count]').inner_text() == "2"
    assert {o.status_id for o in Order.objects.filter(pk__in=[o.pk for o in north])} == {check.pk}
    south.refresh_from_db()
    assert south.status_id == new.pk
    # the order left behind carries its task: a badge on its row, a count under its status, one click filters
    badge = page.locator("#order-table tr[data-id] .by-task", has_text="備考あり")
    assert badge.count() == 1
    counts = page.locator("#task-counts a", has_text="備考あり")
    assert counts.locator("[data-count]").inner_text() == "1"
    shot(page, "order-list-tasks")
    counts.click()
    page.wait_for_url("**task=*")
    assert page.locator("#order-table tbody tr[data-id]").count() == 1

    # the order page says what the rule did
    page.goto(f"{live_server.url}/orders/{north[0].pk}/")
    assert "北海道は要確認へ" in page.inner_text("#order-rules")
    shot(page, "order-detail-automation")


def test_the_address_check_screen_fixes_a_warned_address_in_one_click(page, live_server, tenant, operator):
    from automation.services import process

    wrong = make_order(
        tenant,
        external_id="ADDR-1",
        dest_postal_code="100-0005",
        dest_prefecture="東京都",
        dest_city="港区",
        dest_address1="丸の内1-9-1",
    )
    process(tenant=tenant, order_ids=[wrong.pk])
    login(page, live_server, operator.username, PASSWORD)
    page.click("text=住所チェック")
    page.wait_for_selector(f"#address-{wrong.pk}")
    assert "千代田区" in page.inner_text(f"#address-{wrong.pk}")  # what 100-0005 says
    shot(page, "address-check")
    with page.expect_navigation():
        page.click(f"#address-{wrong.pk} .by-fix-address button[type=submit]")
    assert "一致しました" in page.inner_text(".alert-success")
    wrong.refresh_from_db()
    assert (wrong.dest_prefecture, wrong.dest_city, wrong.dest_address1) == ("東京都", "千代田区", "丸の内1-9-1")
    assert page.locator(f"#address-{wrong.pk}").count() == 0
