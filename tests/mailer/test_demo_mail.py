"""The demo's mail (make run): every shop has a sender and a signature, moving an order into 出荷済 mails the
customer, and the first seed leaves one shipped mail that make run's worker sends to the local catcher."""

from __future__ import annotations

from typing import Any

from devtools.demo import DEMO_AUTO_MAIL, demo_seed
from mailer.models import MailMessage, MailState, ShopMailSettings, StatusMail
from mailer.services import delivery
from orders.constants import Stage
from orders.events import Actor
from orders.models import Order, Status
from orders.services.bulk import BulkChanges, orders_bulk_update
from shops.models import Shop


def test_the_demo_sends_its_shipped_mail_and_mails_what_operators_do(
    db: Any, smtp_server: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_URL = smtp_server.url
    with django_capture_on_commit_callbacks(execute=False):
        seeded = demo_seed(count=60)
    tenant = seeded.tenant
    assert ShopMailSettings.objects.for_tenant(tenant).count() == Shop.objects.for_tenant(tenant).count()
    auto = set(StatusMail.objects.for_tenant(tenant).filter(auto_send=True).values_list("status__name", flat=True))
    assert auto == set(DEMO_AUTO_MAIL)

    [seeded_mail] = MailMessage.objects.for_tenant(tenant)  # the seed's history mailed nothing else
    assert Order.objects.get(pk=seeded_mail.order_id).stage == Stage.SHIPPED
    delivery.deliver([seeded_mail.pk])
    [received] = smtp_server.wait_for(1)
    assert "商品発送のお知らせ" in received.subject
    assert "デモ商店" in received.text

    order = Order.objects.for_tenant(tenant).filter(stage=Stage.READY_TO_SHIP).exclude(orderer_email="").first()
    shipped = Status.objects.for_tenant(tenant).get(name="出荷済")
    with django_capture_on_commit_callbacks(execute=False):
        orders_bulk_update(
            tenant=tenant, order_ids=[order.pk], changes=BulkChanges(status=shipped), actor=Actor.system("system")
        )
    queued = MailMessage.objects.for_tenant(tenant).get(order_id=order.pk)
    delivery.deliver([queued.pk])
    queued.refresh_from_db()
    assert queued.state == MailState.SENT
    assert smtp_server.wait_for(2)[1].rcpt_tos == [order.orderer_email]
