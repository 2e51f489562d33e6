"""The operator's order list: status tree, search, paging, sorting, saved searches and the selection."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.constants import Stage
from orders.models import Label, ListPreference, Order, OrderLabel, PaymentMethod, SavedSearch, Status
from orders.search import normalize
from shipping.models import DeliveryMethod
from shops.models import Shop
from tests.factories import make_member, make_order


def status_of(tenant, stage, position=1):
    return (
        Status.objects.for_tenant(tenant)
        .filter(group__stage=stage)
        .order_by("group__position", "position")[position - 1]
    )


def person(name: str, kana: str) -> dict[str, str]:
    """The same person as recipient, with a phone of their own (the factory's default is 山田 太郎)."""
    return {"dest_name": name, "dest_kana": kana, "dest_phone": ""}


def listed(response) -> list[str]:
    return [row.record.external_id for row in response.context["table"].page.object_list]


def get_list(client, **params):
    response = client.get(reverse("home"), params)
    assert response.status_code == 200
    return response


def test_the_list_opens_on_the_first_new_status(operator_client, tenant):
    response = operator_client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('home')}?status={status_of(tenant, Stage.NEW).pk}"


def test_status_tree_counts_every_status_and_ignores_other_tenants(operator_client, tenant, other_tenant):
    for _ in range(3):
        make_order(tenant)
    make_order(tenant, status=status_of(tenant, Stage.PAID))
    make_order(other_tenant)

    response = get_list(operator_client, status=status_of(tenant, Stage.NEW).pk)

    counts = {c.status.name: c.count for g in response.context["tree"] for c in g.children}
    assert counts["新規受付"] == 3
    assert counts["入金済"] == 1
    assert sum(counts.values()) == 4


def test_status_filter_lists_only_that_status(operator_client, tenant):
    make_order(tenant, external_id="NEW-1")
    make_order(tenant, external_id="PAID-1", status=status_of(tenant, Stage.PAID))

    assert listed(get_list(operator_client, status=status_of(tenant, Stage.NEW).pk)) == ["NEW-1"]
    assert listed(get_list(operator_client, status=status_of(tenant, Stage.PAID).pk)) == ["PAID-1"]


def test_another_tenants_status_is_not_a_valid_filter(operator_client, tenant, other_tenant):
    make_order(tenant, external_id="MINE")
    make_order(other_tenant, external_id="THEIRS")

    response = get_list(operator_client, status=status_of(other_tenant, Stage.NEW).pk)

    assert listed(response) == []
    assert "THEIRS" not in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("やまだ", ["KANA"]),  # hiragana finds katakana
        ("ﾔﾏﾀﾞ ﾊﾅｺ", ["KANA"]),  # half-width kana, with a space
        ("090-1111-2222", ["KANA"]),  # punctuation ignored
        ("09011112222", ["KANA"]),
        ("HANAKO@EXAMPLE", ["KANA"]),  # case-insensitive email
        ("山田 花子", ["KANA"]),
        ("tea-999", ["SKU"]),  # a line's SKU
        ("R-0042", ["R-0042"]),  # the mall's order number
        ("存在しない人", []),
    ],
)
def test_free_text_search(operator_client, tenant, query, expected):
    make_order(
        tenant,
        external_id="KANA",
        orderer_name="山田 花子",
        orderer_kana="ヤマダ ハナコ",
        orderer_phone="090-1111-2222",
        orderer_email="hanako@example.jp",
        **person("山田 花子", "ヤマダ ハナコ"),
    )
    make_order(
        tenant,
        external_id="SKU",
        orderer_name="佐藤 一郎",
        orderer_kana="サトウ イチロウ",
        orderer_phone="03-0000-0000",
        orderer_email="sato@example.jp",
        **person("佐藤 一郎", "サトウ イチロウ"),
        lines=[{"sku": "TEA-999", "name": "玉露", "unit_price": 3000, "quantity": 1, "tax_rate": 8}],
    )
    make_order(
        tenant,
        external_id="R-0042",
        orderer_name="鈴木",
        orderer_kana="スズキ",
        orderer_phone="",
        orderer_email="suzuki@example.jp",
        **person("鈴木", "スズキ"),
    )

    assert sorted(listed(get_list(operator_client, q=query))) == sorted(expected)


def test_each_filter_narrows_the_list(operator_client, tenant):
    plain = make_order(tenant, external_id="PLAIN", dest_prefecture="東京都")  # in the tenant's first shop
    other_shop = Shop.objects.create(tenant=tenant, name="別店舗", mall="yahoo", code="y2")
    bank = PaymentMethod.objects.for_tenant(tenant).get(code="bank_transfer")
    nekopos = DeliveryMethod.objects.for_tenant(tenant).get(name="ネコポス")
    gift = Label.objects.for_tenant(tenant).get(name="ギフト")
    now = timezone.now()
    special = make_order(
        tenant,
        external_id="SPECIAL",
        shop=other_shop,
        payment_method=bank,
        delivery_method=nekopos,
        ordered_at=now - dt.timedelta(days=10),
        ship_date=dt.date(2026, 12, 1),
        dest_prefecture="沖縄県",
        remarks="のし希望",
        order_comment="急ぎ",
        post_order_comment="電話済",
        mail_inquiry=True,
        requested_delivery_date=dt.date(2026, 12, 3),
        shipping_fee=5000,
    )
    OrderLabel.objects.create(tenant=tenant, order=special, label=gift)
    day = timezone.localtime(now - dt.timedelta(days=10)).date()
    cases = {
        "shop": other_shop.pk,
        "payment": bank.pk,
        "delivery": nekopos.pk,
        "label": gift.pk,
        "pref": "沖縄県",
        "has_remarks": "on",
        "has_order_comment": "on",
        "has_post_order_comment": "on",
        "mail_inquiry": "on",
        "has_requested_date": "on",
        "total_min": special.total,
        "ordered_to": day.isoformat(),
        "ship_from": "2026-12-01",
        "ship_to": "2026-12-01",
    }
    for key, value in cases.items():
        assert listed(get_list(operator_client, **{key: value})) == ["SPECIAL"], key
    assert listed(get_list(operator_client, ordered_from=(day + dt.timedelta(days=1)).isoformat())) == ["PLAIN"]
    assert listed(get_list(operator_client, total_max=plain.total)) == ["PLAIN"]


def test_sorting_and_stable_paging(operator_client, tenant):
    for i in range(5):
        make_order(tenant, external_id=f"O{i}", shipping_fee=100 * (5 - i))
    response = get_list(operator_client, sort="total", per_page=50)
    assert listed(response) == ["O4", "O3", "O2", "O1", "O0"]
    response = get_list(operator_client, sort="-total")
    assert listed(response) == ["O0", "O1", "O2", "O3", "O4"]


def test_page_size_is_remembered_by_a_post_and_a_get_writes_nothing(operator_client, operator, tenant):
    for _ in range(3):
        make_order(tenant)
    assert operator_client.post(reverse("order_page_size"), {"page_size": "200"}).status_code == 204
    assert ListPreference.objects.get(tenant=tenant, user=operator).page_size == 200
    response = get_list(operator_client, status=status_of(tenant, Stage.NEW).pk)
    assert response.context["per_page"] == 200

    assert operator_client.post(reverse("order_page_size"), {"page_size": "999"}).status_code == 400  # not offered
    once = get_list(operator_client, per_page=100)  # for this page only
    assert once.context["per_page"] == 100
    assert ListPreference.objects.get(tenant=tenant, user=operator).page_size == 200


@pytest.mark.parametrize("per_page", [50, 500])
def test_the_list_runs_a_fixed_number_of_queries(operator_client, tenant, per_page, django_assert_max_num_queries):
    gift = Label.objects.for_tenant(tenant).get(name="ギフト")
    for i in range(12):
        order = make_order(tenant, remarks="備考" if i % 2 else "")
        OrderLabel.objects.create(tenant=tenant, order=order, label=gift)
    ListPreference.objects.create(tenant=tenant, user_id=operator_client.session["_auth_user_id"], page_size=per_page)
    params = {
        "status": status_of(tenant, Stage.NEW).pk,
        "q": "やまだ",
        "has_remarks": "on",
        "label": gift.pk,
        "sort": "-total",
        "page": 1,
    }
    operator_client.get(reverse("home"))  # the first request stores the tenant in the session: count steady state
    # A search is probed once through the text indexes (the hits per status, then the page by id). On
    # PostgreSQL the probe plans bitmap scans only, set inside a transaction that is rolled back: inside the
    # test's own transaction that is a savepoint, a SET LOCAL, the probe, a rollback and a release (in a
    # request outside a transaction, only the SET LOCAL and the probe are statements).
    probe = 4 if connection.vendor == "postgresql" else 0
    # + the navigation's count of mail problems and the status tree's unsent mail (one query when not cached),
    # + the page's "printed" marks (documents, one query for the page's rows)
    with django_assert_max_num_queries(15 + probe):
        response = get_list(operator_client, **params)
    assert len(listed(response)) == 6


def test_saved_searches_are_per_user_and_reapply(operator_client, operator, tenant):
    colleague = make_member(tenant, username="colleague")
    SavedSearch.objects.create(tenant=tenant, user=colleague, name="同僚の検索", query="q=x")
    make_order(tenant, external_id="HIT", remarks="のし")
    make_order(tenant, external_id="MISS")

    operator_client.post(reverse("saved_search_create"), {"name": "備考あり", "query": "has_remarks=on&page=3"})

    saved = SavedSearch.objects.get(tenant=tenant, user=operator)
    assert saved.query == "has_remarks=on"  # paging is not part of a search
    page = get_list(operator_client, status=status_of(tenant, Stage.NEW).pk).content.decode()
    assert "備考あり" in page
    assert "同僚の検索" not in page
    assert listed(operator_client.get(f"{reverse('home')}?{saved.query}")) == ["HIT"]

    operator_client.post(reverse("saved_search_delete", args=[saved.pk]))
    assert not SavedSearch.objects.filter(pk=saved.pk).exists()


def test_saving_an_empty_search_is_refused_with_a_message(operator_client, tenant):
    response = operator_client.post(reverse("saved_search_create"), {"name": "", "query": ""}, follow=True)
    assert SavedSearch.objects.count() == 0
    assert "名前" in response.content.decode()


def test_selection_survives_paging(operator_client, tenant):
    orders = [make_order(tenant, external_id=f"S{i:02d}") for i in range(60)]
    page1 = get_list(operator_client, per_page=50)
    first_page_ids = [row.record.pk for row in page1.context["table"].page.object_list]
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": first_page_ids[:2]})
    page2 = get_list(operator_client, per_page=50, page=2)
    second_ids = [row.record.pk for row in page2.context["table"].page.object_list]
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": second_ids[:1]})

    back = get_list(operator_client, per_page=50, page=1)

    assert back.context["selected_count"] == 3
    html = back.content.decode()
    assert html.count('class="form-check-input by-row-check" name="ids" value=') == 50
    assert html.count(" checked>") == 2
    assert len(orders) == 60


def test_select_all_matching_then_untick_one(operator_client, tenant):
    for i in range(7):
        make_order(tenant, external_id=f"A{i}", remarks="備考" if i < 5 else "")
    operator_client.post(reverse("order_selection"), {"action": "all_matching", "query": "has_remarks=on&page=2"})
    response = get_list(operator_client, has_remarks="on")
    assert response.context["selected_count"] == 5
    one = response.context["table"].page.object_list[0].record.pk
    operator_client.post(reverse("order_selection"), {"action": "toggle", "ids": [one]})
    assert get_list(operator_client, has_remarks="on").context["selected_count"] == 4
    operator_client.post(reverse("order_selection"), {"action": "clear"})
    assert get_list(operator_client, has_remarks="on").context["selected_count"] == 0


def test_selection_ignores_other_tenants_ids(operator_client, tenant, other_tenant):
    from orders.selection import Selection
    from orders.selectors import tenant_reference

    theirs = make_order(other_tenant)
    mine = make_order(tenant)
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [theirs.pk, mine.pk]})
    request = get_list(operator_client, page=1).wsgi_request
    selection = Selection(request.session, tenant)
    reference = tenant_reference(tenant=tenant, user=request.user)
    assert list(selection.queryset(tenant=tenant, reference=reference)) == [mine]


def test_the_selection_counts_only_the_tenants_orders(operator_client, tenant, other_tenant):
    """Ids of another tenant's orders, or of none, posted to the selection are not counted (issue 11)."""
    theirs = [make_order(other_tenant) for _ in range(3)]
    mine = [make_order(tenant, remarks="備考") for _ in range(2)]
    ids = [o.pk for o in theirs + mine] + [987_654_321]

    bar = operator_client.post(reverse("order_selection"), {"action": "add", "ids": ids}, HTTP_HX_REQUEST="true")
    assert bar.context["selected_count"] == 2
    assert get_list(operator_client, has_remarks="on").context["selected_count"] == 2
    bar = operator_client.post(reverse("order_selection"), {"action": "toggle", "ids": ids}, HTTP_HX_REQUEST="true")
    assert bar.context["selected_count"] == 0
    bar = operator_client.post(reverse("order_selection"), {"action": "toggle", "ids": ids}, HTTP_HX_REQUEST="true")
    assert bar.context["selected_count"] == 2

    # "All matching" minus unticked ones: unticking another tenant's orders takes nothing off the count.
    operator_client.post(reverse("order_selection"), {"action": "all_matching", "query": "has_remarks=on"})
    operator_client.post(reverse("order_selection"), {"action": "remove", "ids": ids[:3], "query": "has_remarks=on"})
    assert get_list(operator_client, has_remarks="on").context["selected_count"] == 2


def test_a_selection_costs_the_list_no_query(operator_client, tenant, django_assert_num_queries):
    orders = [make_order(tenant) for _ in range(3)]
    params = {"status": status_of(tenant, Stage.NEW).pk}
    get_list(operator_client, **params)  # the first request stores the tenant in the session
    operator_client.post(reverse("order_selection"), {"action": "all_matching", "query": ""})
    operator_client.post(reverse("order_selection"), {"action": "clear"})
    with CaptureQueriesContext(connection) as unselected:
        get_list(operator_client, **params)
    without = len(unselected.captured_queries)  # read now: the next request empties the log
    operator_client.post(reverse("order_selection"), {"action": "add", "ids": [o.pk for o in orders[:2]]})

    with django_assert_num_queries(without):
        response = get_list(operator_client, **params)
    assert response.context["selected_count"] == 2


def test_unknown_selection_action_is_a_400(operator_client, tenant):
    assert operator_client.post(reverse("order_selection"), {"action": "explode"}).status_code == 400


def test_htmx_search_answers_with_the_results_only(operator_client, tenant):
    make_order(tenant, external_id="HX-1")
    response = operator_client.get(
        reverse("home"), {"q": "HX-1"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-results"
    )
    body = response.content.decode()
    assert "HX-1" in body
    assert "<html" not in body
    assert 'id="order-results"' in body


def test_bad_paging_and_garbage_filters_do_not_break_the_page(operator_client, tenant):
    make_order(tenant)
    for params in (
        {"page": "999"},
        {"page": "-1"},
        {"total_min": "abc"},
        {"ordered_from": "2026-99-99"},
        {"status": "x"},
        {"sort": "nonsense"},
        {"label": "999999"},
    ):
        response = operator_client.get(reverse("home"), params)
        assert response.status_code == 200, params


def test_more_filters_and_the_bulk_panel_load_when_opened(operator_client, tenant):
    make_order(tenant)
    page = get_list(operator_client, q="x").content.decode()
    assert 'name="total_min"' not in page  # closed: not rendered until opened
    assert 'id="bulk-form"' not in page

    filters = operator_client.get(reverse("order_filters"), {"total_min": "500"}, HTTP_HX_REQUEST="true")
    assert 'name="total_min"' in filters.content.decode()
    assert 'value="500"' in filters.content.decode()
    panel = operator_client.get(reverse("order_bulk_panel"), {"next": "/orders/?q=x"}).content.decode()
    assert 'id="bulk-form"' in panel
    assert 'value="/orders/?q=x"' in panel
    outside = operator_client.get(reverse("order_bulk_panel"), {"next": "https://evil.example/"}).content.decode()
    assert "evil.example" not in outside


def test_the_filters_address_opened_as_a_page_is_the_list_with_the_panel_open(operator_client, tenant):
    """A reload or a bookmark of the panel's own address used to give a bare, unstyled form."""
    response = operator_client.get(reverse("order_filters"), {"status": status_of(tenant, Stage.NEW).pk})
    assert response.status_code == 302
    page = operator_client.get(response["Location"]).content.decode()
    assert 'id="order-table"' in page
    assert 'class="collapse show mt-2" id="more-filters"' in page
    assert 'name="total_min"' in page


def test_the_more_filters_button_does_not_inherit_the_search_forms_swap(operator_client, tenant):
    """The button sat inside the search form, whose hx-select/#order-results and hx-push-url it inherited:
    the fragment was thrown away and the address bar changed. It says its own."""
    page = get_list(operator_client, status=status_of(tenant, Stage.NEW).pk).content.decode()
    button = page[page.index('id="more-filters-toggle"') :]
    button = button[: button.index(">")]
    for attribute in (
        'hx-select="unset"',
        'hx-push-url="false"',
        'hx-target="#more-filters-body"',
        'hx-swap="innerHTML"',
    ):
        assert attribute in button


def test_filters_open_by_themselves_when_one_is_set(operator_client, tenant):
    page = get_list(operator_client, total_min="100").content.decode()
    assert 'name="total_min"' in page
    assert 'id="more-filters"' in page


# --- a search covers every status (issue 10, item 2) ------------------------------------------------------


def test_free_text_searches_every_status_and_the_tree_counts_the_hits(operator_client, tenant):
    """A customer phones about an order that is already 締め済: the search from the landing status finds it,
    and the tree says how many hits each status holds."""
    closed = status_of(tenant, Stage.COMPLETED, position=2)
    new = status_of(tenant, Stage.NEW)
    make_order(tenant, external_id="OLD-1", orderer_kana="サトウ ハナコ", orderer_name="佐藤 花子", status=closed)
    make_order(tenant, external_id="NEW-1", orderer_kana="サトウ ジロウ", orderer_name="佐藤 次郎")
    make_order(tenant, external_id="NEW-2")  # 山田

    # The search box on 新規受付 sends q alone (the "only in this status" tick is off by default).
    page = get_list(operator_client, status=new.pk).content.decode()
    assert f'name="status" value="{new.pk}" id="search-in-status">' in page  # offered, not ticked
    response = get_list(operator_client, q="さとう")

    assert sorted(listed(response)) == ["NEW-1", "OLD-1"]
    hits = {c.status.pk: c.hits for g in response.context["tree"] for c in g.children}
    assert hits[closed.pk] == 1
    assert hits[new.pk] == 1
    assert sum(hits.values()) == 2
    html = response.content.decode()
    assert f'href="/orders/?q=%E3%81%95%E3%81%A8%E3%81%86&amp;status={closed.pk}"' in html  # one click narrows


def test_a_search_narrowed_to_a_status_keeps_the_hits_of_every_status(operator_client, tenant):
    closed = status_of(tenant, Stage.COMPLETED, position=2)
    make_order(tenant, external_id="OLD-1", orderer_kana="サトウ", status=closed)
    make_order(tenant, external_id="NEW-1", orderer_kana="サトウ")

    response = get_list(operator_client, q="サトウ", status=closed.pk)

    assert listed(response) == ["OLD-1"]
    assert response.context["matching"] == 1
    hits = {c.status.pk: c.hits for g in response.context["tree"] for c in g.children}
    assert sum(hits.values()) == 2  # the tree still shows where the other hit is
    html = response.content.decode()
    assert f'value="{closed.pk}" id="search-in-status" checked' in html  # and one tick widens it again


def test_a_search_with_more_hits_than_the_cap_says_so_and_still_pages(operator_client, tenant, settings):
    settings.ORDER_SEARCH_HIT_CAP = 3
    for i in range(5):
        make_order(
            tenant, external_id=f"SATO-{i}", orderer_kana="サトウ", ordered_at=timezone.now() - dt.timedelta(minutes=i)
        )
    make_order(tenant, external_id="OTHER")

    response = get_list(operator_client, q="サトウ", per_page=50)

    assert listed(response) == [f"SATO-{i}" for i in range(5)]  # newest first, every hit on the page
    assert response.context["matching_capped"] is True
    assert all(c.hits is None for g in response.context["tree"] for c in g.children)
    html = response.content.decode()
    assert "3+" in html  # "3+ 件", not a count that would cost a scan of the whole table
    assert 'id="hits-capped"' in html


def test_the_status_tree_partial_refreshes_a_searchs_hits(operator_client, tenant):
    closed = status_of(tenant, Stage.COMPLETED, position=2)
    make_order(tenant, orderer_kana="サトウ", status=closed)
    response = operator_client.get(reverse("status_tree"), {"q": "サトウ"})
    hits = {c.status.pk: c.hits for g in response.context["tree"] for c in g.children}
    assert hits[closed.pk] == 1
    assert "data-hits" in response.content.decode()


@pytest.mark.parametrize("term", ["佐藤", "藤", "サト", "林"])
def test_one_and_two_character_terms_find_what_a_substring_search_finds(operator_client, tenant, term):
    """On PostgreSQL these go through the grams index instead of LIKE; the hits must be the same."""
    make_order(tenant, external_id="A", orderer_name="佐藤 花子", orderer_kana="サトウ ハナコ")
    make_order(
        tenant,
        external_id="B",
        orderer_name="加藤 林",
        orderer_kana="カトウ ハヤシ",
        dest_name="小林 一郎",
        dest_kana="コバヤシ",
    )
    make_order(tenant, external_id="C", orderer_name="林 太郎", orderer_kana="ハヤシ タロウ")
    make_order(tenant, external_id="D", orderer_email="sato@example.jp")
    expected = sorted(o.external_id for o in Order.objects.for_tenant(tenant) if normalize(term) in o.search_text)
    assert expected  # every term hits something here

    assert sorted(listed(get_list(operator_client, q=term))) == expected
