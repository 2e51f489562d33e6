"""When beat polls a shop: its interval counts from one poll's start to the next, and beat (every
SHOPS_POLL_TICK seconds) sends a shop at the tick nearest its due time, so a shop of 1 minute is polled every
minute and one of 2 minutes every other minute; a shop waiting out a failure's delay waits all of it.

Beat's ticks are simulated by calling shops_due_for_poll with the tick's time; each poll is a real one
(poll_shop against the fake mall over HTTP), started a few seconds after its tick as a worker would."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from django.utils import timezone

from shops.models import ShopSync
from shops.services import poll_shop, shops_due_for_poll
from tests.shops.fakeconnector import FakeMall
from tests.shops.test_polling import fake_shop

TICK = dt.timedelta(minutes=1)


@pytest.fixture
def mall() -> Iterator[FakeMall]:
    fake = FakeMall().start()
    yield fake
    fake.stop()


def ticks_polled(shop_id: int, *, ticks: int, start: dt.datetime, late: dt.timedelta) -> list[int]:
    """Run beat's choice at `ticks` ticks a minute apart from `start`; each time the shop is chosen, poll it as
    a worker that took the message `late` after the tick would (the poll's clock set back to its real start).
    Returns the ticks at which the shop was polled."""
    polled = []
    for n in range(ticks):
        tick = start + n * TICK
        if shop_id in shops_due_for_poll(now=tick):
            began = timezone.now()
            outcome = poll_shop(shop_id=shop_id)
            assert outcome.run is not None
            assert outcome.run.status == "ok", outcome.run.error
            # The poll ran now; shift what it wrote onto the simulated clock: it started `late` after the tick.
            shift = (tick + late) - began
            sync = ShopSync.objects.get(shop_id=shop_id)
            assert sync.next_due_at is not None
            ShopSync.objects.filter(pk=sync.pk).update(next_due_at=sync.next_due_at + shift)
            polled.append(n)
    return polled


def test_a_one_minute_shop_is_polled_at_every_tick(tenant, mall):
    shop = fake_shop(tenant, mall, poll_interval=1)
    mall.add_orders(2)

    polled = ticks_polled(shop.pk, ticks=5, start=timezone.now(), late=dt.timedelta(seconds=3))

    assert polled == [0, 1, 2, 3, 4]


def test_the_interval_counts_from_the_polls_start_not_its_end(tenant, mall):
    """A poll that takes long (here the mall holds its answer 2 s) does not push the next one back by as long:
    a 1-minute shop whose polls take 40 s is still polled every minute."""
    shop = fake_shop(tenant, mall, poll_interval=1)
    mall.add_orders(1)
    mall.hold()
    threading.Timer(2, mall.release).start()

    run = poll_shop(shop_id=shop.pk).run

    assert run is not None
    assert run.status == "ok", run.error
    assert run.finished_at - run.started_at >= dt.timedelta(seconds=2)
    sync = ShopSync.objects.get(shop=shop)
    assert sync.next_due_at == run.started_at + TICK


def test_a_two_minute_shop_is_polled_every_other_tick(tenant, mall):
    shop = fake_shop(tenant, mall, poll_interval=2)

    polled = ticks_polled(shop.pk, ticks=6, start=timezone.now(), late=dt.timedelta(seconds=3))

    assert polled == [0, 2, 4]


def test_a_shop_is_not_polled_before_the_tick_nearest_its_time(tenant, mall):
    shop = fake_shop(tenant, mall, poll_interval=5)
    now = timezone.now()
    ShopSync.objects.filter(shop=shop).update(next_due_at=now + dt.timedelta(seconds=40))

    assert shops_due_for_poll(now=now) == []  # 40 s away: the next tick is nearer
    assert shops_due_for_poll(now=now + dt.timedelta(seconds=20)) == [shop.pk]  # 20 s away: this tick


def test_a_shop_waiting_out_a_failure_waits_all_of_it(tenant, mall):
    """A mall's Retry-After or the backoff after a failure is kept to the second: no early tick."""
    shop = fake_shop(tenant, mall, poll_interval=1)
    mall.fail_next(500)
    poll_shop(shop_id=shop.pk)
    sync = ShopSync.objects.get(shop=shop)
    assert sync.failures == 1
    due = sync.next_due_at

    assert shops_due_for_poll(now=due - dt.timedelta(seconds=10)) == []
    assert shops_due_for_poll(now=due) == [shop.pk]
