"""Reminders (T5): the targets by Japan's calendar with the day passed in (no clock is patched), sending them
(the ledger, the move to 催促済, the events), the daily beat task, the reminders screen, and the order-form flag
an operator edits on the order page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backyard.models import Tenant
from mailer.models import (
    BuiltinKind,
    MailKind,
    MailMessage,
    MailSource,
    MailState,
    ReminderRule,
    ReminderTarget,
    ShopMailSettings,
)
from mailer.services import delivery
from mailer.services.reminders import day_start, reminder_targets, reminders_send
from mailer.tasks import send_reminders
from orders.constants import ActorKind, EventType, Stage
from orders.events import Actor
from orders.models import Order, OrderEvent, Status
from orders.services import order_move_to_status
from tests.factories import ShopFactory, make_order

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
D = TODAY - dt.timedelta(days=10)  # the order date of most tests; "today" is passed as D + n


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment of `day` in Japan."""
    return day_start(day) + dt.timedelta(hours=hour, minutes=minute)


def status(tenant: Tenant, name: str, stage: Stage | None = None) -> Status:
    rows = Status.objects.for_tenant(tenant).filter(name=name)
    if stage is not None:
        rows = rows.filter(group__stage=stage)
    return rows.select_related("group").get()


def unpaid_rule(tenant: Tenant) -> ReminderRule:
    return ReminderRule.objects.for_tenant(tenant).select_related("kind", "move_to").get(target=ReminderTarget.UNPAID)


def form_rule(tenant: Tenant) -> ReminderRule:
    return ReminderRule.objects.for_tenant(tenant).select_related("kind", "move_to").get(target=ReminderTarget.FORM)


def unpaid_order(tenant: Tenant, shop: Any, ordered: dt.datetime, **fields: Any) -> Order:
    return make_order(
        tenant,
        shop=shop,
        status=status(tenant, "入金待ち", Stage.AWAITING_PAYMENT),
        ordered_at=ordered,
        orderer_email=fields.pop("orderer_email", "hanako@example.jp"),
        **fields,
    )


def target_ids(tenant: Tenant, rule: ReminderRule, today: dt.date) -> list[int]:
    return list(reminder_targets(tenant=tenant, rule=rule, today=today).values_list("pk", flat=True))


def operator_actor(operator: Any) -> Actor:
    return Actor.for_user(operator)


# --- who is due ---------------------------------------------------------------------------------------------


def test_the_rule_reaches_an_order_on_the_third_japanese_calendar_day(tenant, mail_shop):
    rule = unpaid_rule(tenant)  # the demo's: 3 days after, every 3 days, at most 2 times
    assert (rule.days_after, rule.every_days, rule.max_times) == (3, 3, 2)
    late_evening = unpaid_order(tenant, mail_shop, at(D, 23, 30))  # 14:30 UTC: still the 10th in Japan
    after_midnight = unpaid_order(tenant, mail_shop, at(D + dt.timedelta(days=1), 0, 30))  # UTC: still day D

    assert target_ids(tenant, rule, D + dt.timedelta(days=2)) == []
    assert target_ids(tenant, rule, D + dt.timedelta(days=3)) == [late_evening.pk]
    assert target_ids(tenant, rule, D + dt.timedelta(days=4)) == [late_evening.pk, after_midnight.pk]


def test_a_reminded_order_waits_every_days_and_stops_after_max_times(tenant, mail_shop, operator):
    rule = unpaid_rule(tenant)
    order = unpaid_order(tenant, mail_shop, at(D))
    now = timezone.now()

    first = reminders_send(tenant=tenant, rule=rule, order_ids=None, actor=operator_actor(operator), now=now)
    assert first.reminded == [order.pk]

    # Reminded today: not again today, nor in two days; on the third day again.
    assert target_ids(tenant, rule, TODAY) == []
    assert target_ids(tenant, rule, TODAY + dt.timedelta(days=2)) == []
    again = reminder_targets(tenant=tenant, rule=rule, today=TODAY + dt.timedelta(days=3)).get()
    assert (again.pk, again.times) == (order.pk, 1)
    assert timezone.localdate(again.last_reminded) == TODAY

    second = reminders_send(
        tenant=tenant, rule=rule, order_ids=None, actor=operator_actor(operator), now=now + dt.timedelta(days=3)
    )
    assert second.reminded == [order.pk]
    sequences = MailMessage.objects.filter(order=order, kind=rule.kind).order_by("sequence")
    assert list(sequences.values_list("sequence", flat=True)) == [1, 2]  # each reminder's number

    # max_times (2) reached: never again.
    for later in (3, 6, 30, 300):
        assert target_ids(tenant, rule, TODAY + dt.timedelta(days=later)) == []


def test_a_failed_reminder_counts_and_spaces_the_next_try(tenant, mail_shop, operator):
    """A bouncing address is not reminded without end: a failed reminder counts toward max_times."""
    rule = unpaid_rule(tenant)
    order = unpaid_order(tenant, mail_shop, at(D))
    reminders_send(tenant=tenant, rule=rule, order_ids=None, actor=operator_actor(operator), now=timezone.now())
    MailMessage.objects.filter(order=order).update(state=MailState.FAILED)

    assert target_ids(tenant, rule, TODAY) == []  # not again the same day
    due = reminder_targets(tenant=tenant, rule=rule, today=TODAY + dt.timedelta(days=3)).get()
    assert due.times == 1
    rule.max_times = 1
    rule.save()
    assert target_ids(tenant, rule, TODAY + dt.timedelta(days=30)) == []  # its one try is spent


def test_paid_cancelled_erased_and_addressless_orders_drop_out(tenant, mail_shop, operator):
    rule = unpaid_rule(tenant)
    day3 = D + dt.timedelta(days=3)
    stays = unpaid_order(tenant, mail_shop, at(D))
    paid = unpaid_order(tenant, mail_shop, at(D))
    cancelled = unpaid_order(tenant, mail_shop, at(D))
    erased = unpaid_order(tenant, mail_shop, at(D))
    no_address = unpaid_order(tenant, mail_shop, at(D), orderer_email="")
    make_order(tenant, shop=mail_shop, ordered_at=at(D))  # new, not awaiting payment
    assert set(target_ids(tenant, rule, day3)) == {stays.pk, paid.pk, cancelled.pk, erased.pk}

    system = Actor.system("test")
    order_move_to_status(order=paid, status=status(tenant, "入金済", Stage.PAID), actor=system)
    order_move_to_status(order=cancelled, status=status(tenant, "キャンセル", Stage.CANCELLED), actor=system)
    Order.objects.filter(pk=erased.pk).update(personal_data_erased_at=timezone.now())

    assert target_ids(tenant, rule, day3) == [stays.pk]
    assert no_address.pk not in target_ids(tenant, rule, day3 + dt.timedelta(days=30))


def test_the_form_rule_reaches_open_orders_whose_form_is_pending(tenant, mail_shop):
    rule = form_rule(tenant)  # the demo's: 2 days after
    pending = make_order(tenant, shop=mail_shop, ordered_at=at(D), form_pending=True)
    filled = make_order(tenant, shop=mail_shop, ordered_at=at(D))
    shipped = make_order(tenant, shop=mail_shop, ordered_at=at(D), form_pending=True)
    system = Actor.system("test")
    order_move_to_status(order=shipped, status=status(tenant, "発送待ち", Stage.READY_TO_SHIP), actor=system)
    order_move_to_status(order=shipped, status=status(tenant, "出荷済", Stage.SHIPPED), actor=system)

    assert target_ids(tenant, rule, D + dt.timedelta(days=1)) == []
    assert target_ids(tenant, rule, D + dt.timedelta(days=2)) == [pending.pk]
    assert filled.pk not in target_ids(tenant, unpaid_rule(tenant), D + dt.timedelta(days=5))


def test_another_tenants_rule_is_refused(tenant, other_tenant):
    with pytest.raises(ValueError, match="another tenant"):
        reminder_targets(tenant=tenant, rule=unpaid_rule(other_tenant), today=TODAY)


# --- sending ------------------------------------------------------------------------------------------------


def test_sending_queues_the_reminder_and_moves_the_order_to_reminded(
    tenant, mail_shop, operator, smtp_route, django_capture_on_commit_callbacks
):
    rule = unpaid_rule(tenant)
    assert rule.move_to is not None
    assert rule.move_to.name == "催促済"
    order = unpaid_order(tenant, mail_shop, at(D), external_id="R-2001")

    with django_capture_on_commit_callbacks(execute=False):
        result = reminders_send(
            tenant=tenant, rule=rule, order_ids=None, actor=operator_actor(operator), now=timezone.now()
        )

    assert (result.queued, result.moved) == (1, 1)
    row = MailMessage.objects.get(order=order)
    assert (row.kind.code, row.source, row.state, row.sequence) == (
        BuiltinKind.PAYMENT_REMINDER,
        MailSource.REMINDER,
        MailState.QUEUED,
        1,
    )
    assert row.batch == result.batch
    order.refresh_from_db()
    assert order.status.name == "催促済"
    moved = OrderEvent.objects.get(order=order, type=EventType.STATUS_CHANGED, actor_kind=ActorKind.USER)
    assert moved.actor_name == operator.username

    delivery.deliver([row.pk])
    smtp_route.wait_for(1)
    assert smtp_route.messages[0].rcpt_tos == ["hanako@example.jp"]
    sent = OrderEvent.objects.get(order=order, type=EventType.MAIL_SENT)
    assert sent.data["mail"]["reminder"] == 1
    assert sent.data["mail"]["kind"] == "入金催促"


def test_a_second_run_the_same_day_queues_nothing(tenant, mail_shop, operator):
    rule = unpaid_rule(tenant)
    unpaid_order(tenant, mail_shop, at(D))
    unpaid_order(tenant, mail_shop, at(D))
    now = timezone.now()
    assert reminders_send(tenant=tenant, rule=rule, order_ids=None, actor=operator_actor(operator), now=now).queued == 2
    events = OrderEvent.objects.count()

    again = reminders_send(tenant=tenant, rule=rule, order_ids=None, actor=operator_actor(operator), now=now)

    assert (again.asked, again.queued, again.moved) == (0, 0, 0)
    assert MailMessage.objects.filter(tenant=tenant).count() == 2
    assert OrderEvent.objects.count() == events


def test_sending_to_chosen_orders_checks_each_again(tenant, mail_shop, operator):
    rule = unpaid_rule(tenant)
    due = unpaid_order(tenant, mail_shop, at(D))
    too_new = unpaid_order(tenant, mail_shop, at(TODAY))
    other = unpaid_order(tenant, mail_shop, at(D))

    result = reminders_send(
        tenant=tenant, rule=rule, order_ids=[due.pk, too_new.pk], actor=operator_actor(operator), now=timezone.now()
    )

    assert result.reminded == [due.pk]
    assert not MailMessage.objects.filter(order_id__in=[too_new.pk, other.pk]).exists()


def test_an_order_that_cannot_get_the_mail_is_named_and_not_moved(tenant, operator):
    shop = ShopFactory(tenant=tenant)  # no From address anywhere: nothing can be sent
    rule = unpaid_rule(tenant)
    order = unpaid_order(tenant, shop, at(D), external_id="R-3001")

    result = reminders_send(
        tenant=tenant, rule=rule, order_ids=None, actor=operator_actor(operator), now=timezone.now()
    )

    assert result.queued == 0
    assert [r.number for r in result.refused] == ["R-3001"]
    order.refresh_from_db()
    assert order.status.name == "入金待ち"


# --- the daily task -----------------------------------------------------------------------------------------


def test_the_beat_schedule_runs_reminders_at_nine_in_tokyo():
    entry = settings.CELERY_BEAT_SCHEDULE["send-reminders"]
    assert entry["task"] == "mailer.tasks.send_reminders"
    assert entry["schedule"] == crontab(hour=9, minute=0)
    assert settings.CELERY_TIMEZONE == "Asia/Tokyo"


def test_the_daily_task_sends_for_automatic_rules_only_and_survives_a_failing_rule(
    tenant, other_tenant, mail_shop, caplog
):
    # tenant: the unpaid rule automatic, the form rule by hand, and a broken automatic rule that runs first.
    ReminderRule.objects.filter(pk=unpaid_rule(tenant).pk).update(automatic=True)
    ReminderRule.objects.create(
        tenant=tenant,
        name="壊れたルール",
        target=ReminderTarget.UNPAID,
        kind=MailKind.objects.get(tenant=other_tenant, code=BuiltinKind.PAYMENT_REMINDER),  # another tenant's
        automatic=True,
        position=0,
    )
    unpaid = unpaid_order(tenant, mail_shop, at(D))
    form = make_order(tenant, shop=mail_shop, ordered_at=at(D), form_pending=True)
    # other_tenant (after tenant in the run): its automatic rule still sends.
    other_shop = ShopFactory(tenant=other_tenant)
    ShopMailSettings.objects.create(tenant=other_tenant, shop=other_shop, from_address="shop@other.example")
    ReminderRule.objects.filter(pk=unpaid_rule(other_tenant).pk).update(automatic=True)
    other = unpaid_order(other_tenant, other_shop, at(D))

    summary = send_reminders()

    assert summary == {"rules": 3, "reminded": 2, "failed": 1}
    assert set(MailMessage.objects.values_list("order_id", "source")) == {
        (unpaid.pk, MailSource.REMINDER),
        (other.pk, MailSource.REMINDER),
    }
    assert not MailMessage.objects.filter(order=form).exists()
    row = MailMessage.objects.get(order=unpaid)
    assert row.actor_name == "reminder"
    moved = OrderEvent.objects.get(order=unpaid, type=EventType.STATUS_CHANGED)
    assert (moved.actor_kind, moved.actor_name) == (ActorKind.SYSTEM, "reminder")
    assert any("failed" in record.getMessage() and record.levelname == "ERROR" for record in caplog.records)

    assert send_reminders() == {"rules": 3, "reminded": 0, "failed": 1}  # twice a day: nobody is due again


# --- the screen ---------------------------------------------------------------------------------------------


def test_the_screen_lists_todays_targets_with_the_rule_in_words(operator_client, tenant, mail_shop, operator):
    due = unpaid_order(
        tenant, mail_shop, at(TODAY - dt.timedelta(days=5)), external_id="R-4001", orderer_name="佐藤 花子"
    )
    unpaid_order(tenant, mail_shop, at(TODAY - dt.timedelta(days=1)), external_id="R-4002")
    MailMessage.objects.create(
        tenant=tenant,
        order=due,
        shop=mail_shop,
        kind=unpaid_rule(tenant).kind,
        sequence=1,
        state=MailState.SENT,
        source=MailSource.REMINDER,
        queued_at=timezone.now() - dt.timedelta(days=4),
    )

    page = operator_client.get(reverse("reminders"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "3日後から、3日ごとに、最大2回、催促済へ移動" in html
    assert "2日後から、2日ごとに、最大2回" in html
    assert "R-4001" in html
    assert "佐藤 花子" in html
    assert reverse("order_detail", args=[due.pk]) in html
    assert "R-4002" not in html  # one day old
    assert "5日" in html  # days since the order
    assert "1 / 2" in html  # reminded once of at most twice
    assert "全1件に送信" in html
    assert "今日このルールで催促する注文はありません。" in html  # the form rule has nobody


def test_the_screen_links_the_rule_in_the_admin_for_staff(client, tenant_admin, tenant):
    tenant_admin.is_staff = True
    tenant_admin.save(update_fields=["is_staff"])
    client.force_login(tenant_admin)
    rule = unpaid_rule(tenant)
    html = client.get(reverse("reminders")).content.decode()
    assert reverse("admin:mailer_reminderrule_change", args=[rule.pk]) in html


def test_the_screens_queries_do_not_grow_with_the_targets(
    operator_client, tenant, mail_shop, django_assert_max_num_queries
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert operator_client.get(reverse("reminders")).status_code == 200
        return len(queries)

    unpaid_order(tenant, mail_shop, at(D))
    count()  # the session's first page reads what later pages find cached
    few = count()
    for _ in range(6):
        unpaid_order(tenant, mail_shop, at(D))
        make_order(tenant, shop=mail_shop, ordered_at=at(D), form_pending=True)
    assert count() == few
    with django_assert_max_num_queries(few):
        operator_client.get(reverse("reminders"))


def test_sending_the_ticked_orders_from_the_screen(operator_client, tenant, mail_shop, operator):
    rule = unpaid_rule(tenant)
    ticked = unpaid_order(tenant, mail_shop, at(D))
    left = unpaid_order(tenant, mail_shop, at(D))

    answer = operator_client.post(reverse("reminders_send", args=[rule.pk]), {"order": [str(ticked.pk)]})

    row = MailMessage.objects.get(order=ticked)
    assert (row.source, row.actor_user_id) == (MailSource.REMINDER, operator.pk)
    assert not MailMessage.objects.filter(order=left).exists()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("mail_batch", args=[row.batch])
    shown = [str(m) for m in answer.wsgi_request._messages]
    assert "入金催促：1件の催促メールを送信待ちにしました。" in shown
    assert "1件の注文を催促済へ移動しました。" in shown


def test_sending_to_all_from_the_screen(operator_client, tenant, mail_shop):
    rule = unpaid_rule(tenant)
    orders = [unpaid_order(tenant, mail_shop, at(D)) for _ in range(3)]

    operator_client.post(reverse("reminders_send", args=[rule.pk]), {"all": "1"})

    assert set(MailMessage.objects.values_list("order_id", flat=True)) == {o.pk for o in orders}
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status__name", flat=True)) == {"催促済"}


def test_sending_nothing_ticked_says_so(operator_client, tenant, mail_shop):
    rule = unpaid_rule(tenant)
    unpaid_order(tenant, mail_shop, at(D))
    answer = operator_client.post(reverse("reminders_send", args=[rule.pk]), {}, follow=True)
    assert "催促する注文にチェックを入れてください。" in answer.content.decode()
    assert not MailMessage.objects.exists()


def test_another_tenants_rule_is_a_404(operator_client, other_tenant):
    rule = unpaid_rule(other_tenant)
    answer = operator_client.post(reverse("reminders_send", args=[rule.pk]), {"all": "1"})
    assert answer.status_code == 404
    assert not MailMessage.objects.exists()


def test_the_screen_needs_a_login(client):
    answer = client.get(reverse("reminders"))
    assert answer.status_code == 302
    assert reverse("login") in answer["Location"]


# --- the order-form flag on the order page ------------------------------------------------------------------


def test_the_order_form_flag_is_edited_on_the_order_page_with_an_event(operator_client, tenant, operator):
    order = make_order(tenant)
    comments = {"remarks": "", "order_comment": "", "post_order_comment": "", "form_pending": "on"}

    operator_client.post(reverse("order_edit_comments", args=[order.pk]), {**comments, "version": order.version})

    order.refresh_from_db()
    assert order.form_pending is True
    event = OrderEvent.objects.get(order=order, type=EventType.FIELD_CHANGED)
    assert (event.data["field"], event.data["old"], event.data["new"]) == ("form_pending", False, True)
    assert event.actor_name == operator.username
    page = operator_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert 'id="order-form-pending"' in page
    assert "注文フォーム未記入" in page

    del comments["form_pending"]
    operator_client.post(reverse("order_edit_comments", args=[order.pk]), {**comments, "version": order.version})
    order.refresh_from_db()
    assert order.form_pending is False
    assert (
        'id="order-form-pending"' not in operator_client.get(reverse("order_detail", args=[order.pk])).content.decode()
    )
