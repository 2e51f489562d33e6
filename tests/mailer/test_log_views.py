"""The send log (T10, F8): search, one mail as sent, a deliberate resend, the red count beside the navigation,
tenancy and a fixed number of queries per page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backyard.models import Tenant
from mailer.models import MailMessage, MailSource, MailState
from tests.factories import ShopFactory, make_order

from .conftest import kind

pytestmark = pytest.mark.django_db

JST = dt.timezone(dt.timedelta(hours=9))


def mail(tenant: Tenant, order: Any, code: str = "shipped", **fields: Any) -> MailMessage:
    """A ledger row as the delivery leaves it (sent unless told otherwise)."""
    values: dict[str, Any] = {
        "tenant": tenant,
        "order": order,
        "shop_id": order.shop_id,
        "kind": kind(tenant, code),
        "state": MailState.SENT,
        "source": MailSource.OPERATOR,
        "actor_name": "operator",
        "to_address": order.orderer_email,
        "from_address": "有機茶園やまだ <shop@yamada-tea.example>",
        "subject": f"【有機茶園やまだ】ご注文の商品を発送いたしました（{order.external_id}）",
        "body": f"{order.orderer_name} 様\n\nご注文ありがとうございます。\n",
        "message_id": f"<{order.pk}.{code}@yamada-tea.example>",
        "route": "127.0.0.1:2525",
        "attempts": 1,
        **fields,
    }
    return MailMessage.objects.create(**values)


def log(client: Any, **params: Any) -> str:
    response = client.get(reverse("mail_log"), params)
    assert response.status_code == 200
    return response.content.decode()


def rows(html: str) -> list[str]:
    """The detail links of the log's rows, in order: one per mail."""
    return re.findall(r'<td class="by-c-when"><a href="/mail/log/(\d+)/"', html)


def ids(*mails: MailMessage) -> list[str]:
    return [str(m.pk) for m in mails]


@pytest.fixture
def two_orders(tenant, mail_shop):
    first = make_order(tenant, shop=mail_shop, external_id="R-1001", orderer_email="hanako@example.jp")
    second = make_order(tenant, shop=mail_shop, external_id="R-2002", orderer_email="taro.yamada@docomo.ne.jp")
    return first, second


# --- the list and its search ---------------------------------------------------------------------------------


def test_the_log_lists_every_mail_newest_first_with_its_columns(operator_client, tenant, two_orders):
    first, second = two_orders
    now = timezone.now()
    old = mail(tenant, first, "order_confirmation", queued_at=now - dt.timedelta(days=2))
    new = mail(tenant, second, queued_at=now, source=MailSource.STATUS, actor_name="")

    html = log(operator_client)

    assert rows(html) == ids(new, old)
    assert "R-2002" in html
    assert "taro.yamada@docomo.ne.jp" in html
    assert f'href="{reverse("order_detail", args=[second.pk])}"' in html
    assert "発送完了" in html
    assert "注文確認" in html
    assert "送信済" in html or "送信完了" in html  # the state badge
    assert "ステータス" in html  # sent by: status entered


def test_search_by_order_number_is_exact(operator_client, tenant, two_orders):
    first, second = two_orders
    mine = mail(tenant, first)
    mail(tenant, second)

    assert rows(log(operator_client, number="R-1001")) == ids(mine)
    assert rows(log(operator_client, number="R-100")) == []


def test_search_by_address_exact_or_its_beginning(operator_client, tenant, two_orders):
    first, second = two_orders
    mail(tenant, first)
    docomo = mail(tenant, second)

    assert rows(log(operator_client, address="taro.yamada@docomo.ne.jp")) == ids(docomo)
    assert rows(log(operator_client, address="TARO.yam")) == ids(docomo)
    assert rows(log(operator_client, address="docomo.ne.jp")) == []  # the beginning, not anywhere


def test_search_by_japan_dates(operator_client, tenant, two_orders):
    first, second = two_orders
    late_evening = mail(tenant, first, queued_at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=JST))
    next_morning = mail(tenant, second, queued_at=dt.datetime(2026, 3, 2, 0, 10, tzinfo=JST))

    assert rows(log(operator_client, date_from="2026-03-01", date_to="2026-03-01")) == ids(late_evening)
    assert rows(log(operator_client, date_from="2026-03-02")) == ids(next_morning)
    assert rows(log(operator_client, date_to="2026-02-28")) == []


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "2026-13-40", "yesterday"])
def test_an_absurd_date_is_a_named_error_not_a_crash(operator_client, tenant, two_orders, date):
    mail(tenant, two_orders[0])

    html = log(operator_client, date_to=date)

    assert "invalid-feedback" in html
    assert len(rows(html)) == 1  # the whole log, the field saying what was wrong


def test_a_start_after_the_end_is_refused(operator_client, tenant, two_orders):
    html = log(operator_client, date_from="2026-03-05", date_to="2026-03-01")
    assert "終了日が開始日より前です" in html


def test_problems_are_failed_and_unknown_mails_not_resent(operator_client, tenant, two_orders):
    first, second = two_orders
    sent = mail(tenant, first, "order_confirmation")
    failed = mail(tenant, first, state=MailState.FAILED, answer="550 5.1.1 User unknown")
    unknown = mail(tenant, second, state=MailState.UNKNOWN)
    resent_failure = mail(tenant, second, "payment_request", state=MailState.FAILED)
    resend = mail(tenant, second, "payment_request", sequence=1)

    problems = rows(log(operator_client, state="problems"))
    every_failure = rows(log(operator_client, state="failed_all"))

    assert sorted(problems) == sorted(ids(failed, unknown))
    assert sorted(every_failure) == sorted(ids(failed, unknown, resent_failure))
    assert sorted(rows(log(operator_client, state="sent"))) == sorted(ids(sent, resend))


def test_search_by_state_queued_and_marked(operator_client, tenant, two_orders):
    first, second = two_orders
    queued = mail(tenant, first, state=MailState.QUEUED, attempts=0, body="")
    sending = mail(tenant, second, state=MailState.SENDING)
    marked = mail(tenant, second, "payment_received", state=MailState.MARKED, body="")

    assert sorted(rows(log(operator_client, state="queued"))) == sorted(ids(queued, sending))
    assert rows(log(operator_client, state="marked")) == ids(marked)


def test_search_by_kind_and_shop(operator_client, tenant, two_orders):
    first, second = two_orders
    other_shop = ShopFactory(tenant=tenant, name="やまだ Yahoo!店")
    third = make_order(tenant, shop=other_shop, external_id="Y-3003")
    confirmation = mail(tenant, first, "order_confirmation")
    shipped = mail(tenant, second)
    yahoo = mail(tenant, third)

    assert rows(log(operator_client, kind=kind(tenant, "order_confirmation").pk)) == ids(confirmation)
    assert sorted(rows(log(operator_client, kind=kind(tenant).pk))) == sorted(ids(shipped, yahoo))
    assert rows(log(operator_client, shop=other_shop.pk)) == ids(yahoo)


def test_another_tenants_kind_is_not_a_choice(operator_client, tenant, other_tenant, two_orders):
    mail(tenant, two_orders[0])
    html = log(operator_client, kind=kind(other_tenant).pk)
    assert "invalid-feedback" in html
    assert f'value="{kind(other_tenant).pk}"' not in html
    assert len(rows(html)) == 1


def test_the_log_shows_only_the_tenants_mails(operator_client, tenant, other_tenant, two_orders):
    mine = mail(tenant, two_orders[0])
    theirs = make_order(other_tenant, external_id="R-1001", orderer_email="hanako@example.jp")
    mail(other_tenant, theirs)

    assert rows(log(operator_client)) == ids(mine)
    assert rows(log(operator_client, number="R-1001")) == ids(mine)


def test_the_log_pages_by_fifty(operator_client, tenant, mail_shop):
    order = make_order(tenant, shop=mail_shop)
    now = timezone.now()
    made = [mail(tenant, order, sequence=n, queued_at=now - dt.timedelta(minutes=n)) for n in range(55)]

    first = log(operator_client)
    second = log(operator_client, page=2)

    assert rows(first) == ids(*made[:50])
    assert rows(second) == ids(*made[50:])
    assert 'rel="next"' in first
    assert 'rel="next"' not in second
    assert rows(log(operator_client, page="99999999999")) == ids(*made[:50])  # nonsense: the first page


def test_the_log_is_get_only(operator_client):
    assert operator_client.post(reverse("mail_log")).status_code == 405


def test_the_log_needs_a_login(client):
    response = client.get(reverse("mail_log"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def queries_of(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_logs_queries_do_not_grow_with_its_rows(operator_client, tenant, mail_shop, django_assert_max_num_queries):
    order = make_order(tenant, shop=mail_shop)
    mail(tenant, order)
    url = reverse("mail_log") + "?state=problems"
    operator_client.get(url)  # the session's first request stores the tenant chosen
    few = queries_of(operator_client, url)
    for n in range(1, 60):
        other = make_order(tenant, shop=mail_shop, external_id=f"R-{n:04d}")
        mail(tenant, other, state=MailState.FAILED if n % 2 else MailState.SENT, sequence=0)

    assert queries_of(operator_client, url) == few
    assert queries_of(operator_client, reverse("mail_log")) == few
    with django_assert_max_num_queries(8):  # session, user, memberships; kinds, shops; rows; the red count
        operator_client.get(reverse("mail_log"))


# --- mail content is escaped -------------------------------------------------------------------------------

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_html_in_a_subject_or_body_is_shown_as_text(operator_client, tenant, two_orders):
    row = mail(tenant, two_orders[0], subject=f"件名{EVIL}", body=f"本文{EVIL}\n二行目", to_address="a@b.jp")

    listing = log(operator_client)
    detail = operator_client.get(reverse("mail_detail", args=[row.pk])).content.decode()

    for html in (listing, detail):
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<pre class="by-mail-body" id="mail-body">本文&lt;script&gt;' in detail


# --- one mail ------------------------------------------------------------------------------------------------


def test_the_detail_shows_the_mail_as_sent(operator_client, tenant, two_orders):
    first, _second = two_orders
    row = mail(
        tenant,
        first,
        reply_to="support@yamada-tea.example",
        answer="250 2.0.0 Ok: queued as 4F2A1",
        charset="iso-2022-jp",
    )
    other = mail(tenant, first, "order_confirmation")

    html = operator_client.get(reverse("mail_detail", args=[row.pk])).content.decode()

    for text in (
        "有機茶園やまだ &lt;shop@yamada-tea.example&gt;",
        "hanako@example.jp",
        "support@yamada-tea.example",
        row.subject,
        f"&lt;{first.pk}.shipped@yamada-tea.example&gt;",
        "127.0.0.1:2525",
        "ISO-2022-JP",
        "250 2.0.0 Ok: queued as 4F2A1",
        "ご注文ありがとうございます。",
    ):
        assert text in html, text
    assert f'href="{reverse("order_detail", args=[first.pk])}"' in html
    assert f'href="{reverse("mail_detail", args=[other.pk])}"' in html  # the order's other mails
    assert "?number=R-1001" in html


def test_an_erased_body_says_so(operator_client, tenant, two_orders):
    row = mail(tenant, two_orders[0], body="", body_erased_at=timezone.now())
    html = operator_client.get(reverse("mail_detail", args=[row.pk])).content.decode()
    assert "本文は保存期間を過ぎたため消去されました" in html
    assert 'id="mail-body"' not in html


def test_an_unknown_mail_explains_itself(operator_client, tenant, two_orders):
    row = mail(tenant, two_orders[0], state=MailState.UNKNOWN, message_id="<abc.123@yamada-tea.example>")
    html = operator_client.get(reverse("mail_detail", args=[row.pk])).content.decode()
    explained = html[html.index('id="unknown-explained"') :]
    assert "送信の途中でワーカーが止まった" in explained
    assert "Message-ID" in explained
    assert "&lt;abc.123@yamada-tea.example&gt;" in explained


def test_another_tenants_mail_is_not_found(operator_client, other_tenant):
    theirs = mail(other_tenant, make_order(other_tenant))
    assert operator_client.get(reverse("mail_detail", args=[theirs.pk])).status_code == 404
    assert operator_client.post(reverse("mail_resend", args=[theirs.pk])).status_code == 404
    assert MailMessage.objects.filter(tenant=other_tenant).count() == 1


# --- resend --------------------------------------------------------------------------------------------------


def test_resend_queues_the_next_number_and_opens_it(operator_client, operator, tenant, mail_order):
    failed = mail(tenant, mail_order, state=MailState.FAILED, answer="550 mailbox unavailable")

    response = operator_client.post(reverse("mail_resend", args=[failed.pk]))

    new = MailMessage.objects.get(tenant=tenant, order=mail_order, kind=failed.kind, sequence=1)
    assert response.status_code == 302
    assert response["Location"] == reverse("mail_detail", args=[new.pk])
    assert new.state == MailState.QUEUED
    assert new.source == MailSource.OPERATOR
    assert new.actor_user_id == operator.pk
    page = operator_client.get(response["Location"]).content.decode()
    assert "再送信の準備ができました" in page
    assert 'hx-trigger="every 3s"' in page  # follows the state until the mail is out
    assert 'id="resend"' not in page  # no second resend while this one is on its way
    # the failure is dealt with: no longer a problem
    assert rows(log(operator_client, state="problems")) == []


def test_resend_through_htmx_redirects_the_page(operator_client, tenant, mail_order):
    sent = mail(tenant, mail_order)
    response = operator_client.post(reverse("mail_resend", args=[sent.pk]), HTTP_HX_REQUEST="true")
    new = MailMessage.objects.get(order=mail_order, kind=sent.kind, sequence=1)
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("mail_detail", args=[new.pk])


def test_a_resend_that_cannot_go_names_the_reason(operator_client, tenant, mail_order):
    sent = mail(tenant, mail_order)
    type(mail_order).objects.filter(pk=mail_order.pk).update(orderer_email="not an address")

    response = operator_client.post(reverse("mail_resend", args=[sent.pk]), follow=True)

    assert MailMessage.objects.filter(order=mail_order).count() == 1
    assert "メールを送信待ちにできませんでした" in response.content.decode()


def test_resend_is_post_only(operator_client, tenant, mail_order):
    sent = mail(tenant, mail_order)
    assert operator_client.get(reverse("mail_resend", args=[sent.pk])).status_code == 405
    assert MailMessage.objects.filter(order=mail_order).count() == 1


# --- the red count beside the navigation -----------------------------------------------------------------


def count_queries(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "mailer_mailmessage" in q["sql"]]


def test_the_error_count_shows_only_when_there_are_problems(operator_client, tenant, two_orders):
    first, second = two_orders
    mail(tenant, first)
    url = reverse("shop_list")

    quiet = operator_client.get(url).content.decode()
    mail(tenant, first, "order_confirmation", state=MailState.FAILED)
    mail(tenant, second, state=MailState.UNKNOWN)
    with CaptureQueriesContext(connection) as captured:
        loud = operator_client.get(url).content.decode()

    assert 'id="mail-problems"' not in quiet
    assert "送信エラー" not in quiet
    assert 'id="nav-mail"' in quiet
    badge = loud[loud.index('id="mail-problems"') :]
    assert f'href="{reverse("mail_log")}?state=problems"' in loud
    assert "送信エラー 2" in badge[: badge.index("</a>")]
    assert len(count_queries(captured)) == 1


def test_the_error_count_costs_nothing_for_anonymous_pages(client, tenant):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("login"))
    assert response.status_code == 200
    assert count_queries(captured) == []
