"""The mail kinds, mobile mail domains and templates every new tenant starts with, and the demo merchant uses.

A tenant edits all of it in the admin afterwards; nothing here is read again once a tenant has its copy.

The templates are written as Japanese web shops (Rakuten, Yahoo! Shopping) write theirs: keigo, the orderer
addressed by name, the order in a sectioned summary, the insert text the rules add (`差込文`) after the opening.
There is no signature in a body: the shop's signature is appended when the mail is sent. Every kind has a PC
template (lines within about 38 full-width characters) and a mobile one (about 20, no wide rules or tables).
Static text stays within JIS X 0208, so a template also goes out as ISO-2022-JP.

Codes are plain strings equal to `BuiltinKind` and `Device` values (tests/mailer/test_defaults.py checks), so
this module imports no model and a data migration can use it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DefaultTemplate:
    kind: str  # a BuiltinKind value
    device: str  # a Device value
    subject: str
    body: str


# (code, name as Japanese shops call the mail, position)
KINDS: tuple[tuple[str, str, int], ...] = (
    ("order_confirmation", "注文確認", 10),
    ("stock_confirmed", "在庫確認", 20),
    ("payment_request", "入金案内", 30),
    ("payment_received", "入金確認", 40),
    ("shipping_preparation", "発送準備", 50),
    ("shipped", "発送完了", 60),
    ("payment_reminder", "入金催促", 70),
    ("form_reminder", "注文フォーム未記入催促", 80),
    ("cancellation", "キャンセル", 90),
)

# The Japanese carriers' own mail domains (キャリアメール). A subdomain counts too (MobileDomain), so
# biz.ezweb.ne.jp is covered by ezweb.ne.jp and the PHS addresses (dk.pdx.ne.jp …) by pdx.ne.jp.
MOBILE_DOMAINS: tuple[str, ...] = (
    "docomo.ne.jp",  # NTT docomo
    "ezweb.ne.jp",  # au (older addresses)
    "au.com",  # au
    "uqmobile.jp",  # UQ mobile
    "softbank.ne.jp",  # SoftBank
    "i.softbank.jp",  # SoftBank iPhone (MMS)
    "disney.ne.jp",  # Disney Mobile on SoftBank
    "ymobile.ne.jp",  # Y!mobile
    "y-mobile.ne.jp",  # Y!mobile (former EMOBILE and WILLCOM users)
    "emnet.ne.jp",  # EMOBILE
    "willcom.com",  # WILLCOM
    "pdx.ne.jp",  # WILLCOM PHS
    "rakumail.jp",  # Rakuten Mobile
)

PC = "pc"
MOBILE = "mobile"

# --- PC: pieces shared by the templates ------------------------------------------------------------------

_RULE = "━" * 34

_GREETING = """\
{{ 注文者名 }} 様

この度は{{ 店舗名 }}をご利用いただき、誠にありがとうございます。
"""

_INSERT = """\
{% if 差込文 %}
{{ 差込文 }}

{% endif %}
"""

_ORDER_FACTS = """\
注文番号　　：{{ 注文番号 }}
注文日　　　：{{ 注文日 }}
{% if 支払方法 %}
お支払方法　：{{ 支払方法 }}
{% endif %}
{% if 配送方法 %}
配送方法　　：{{ 配送方法 }}
{% endif %}
{% if お届け希望日 %}
お届け希望日：{{ お届け希望日 }}
{% endif %}
{% if お届け時間帯 %}
お届け時間帯：{{ お届け時間帯 }}
{% endif %}
"""

_ORDERER = """\
■ご注文者
{{ 注文者名 }} 様
{% if 注文者住所 %}
{{ 注文者住所 }}
{% endif %}
{% if 注文者電話番号 %}
TEL：{{ 注文者電話番号 }}
{% endif %}
"""

_DESTINATION = """\
■お届け先
{% if 送付先会社名 %}
{{ 送付先会社名 }}
{% endif %}
{{ 送付先名 }} 様
{{ 送付先住所 }}
{% if 送付先電話番号 %}
TEL：{{ 送付先電話番号 }}
{% endif %}
"""

_ITEMS = """\
■ご注文商品
{{ 商品明細 }}
"""

_AMOUNTS = """\
■お支払金額
商品合計　　：{{ 商品合計 }}
送料　　　　：{{ 送料 }}
{% if 代引手数料 != "0円" %}
代引手数料　：{{ 代引手数料 }}
{% endif %}
{% if 割引 != "0円" %}
割引　　　　：-{{ 割引 }}
{% endif %}
{% if ポイント利用 != "0円" %}
ポイント利用：-{{ ポイント利用 }}
{% endif %}
──────────────────────
合計金額　　：{{ 合計金額 }}（税込）
{% if 税率別内訳 %}

■税率別内訳
{{ 税率別内訳 }}
{% endif %}
"""

_REMARKS = """\
{% if 備考 %}

■備考
{{ 備考 }}
{% endif %}
"""

_COD = """\
{% if 代引手数料 != "0円" %}
お支払いは代金引換です。商品お受け取りの際に、配達員へ
{{ 合計金額 }}をお支払いください。

{% endif %}
"""

_CLOSING = "今後とも{{ 店舗名 }}をよろしくお願いいたします。"


def _summary(title: str, *sections: str) -> str:
    """The framed order summary of a PC mail: a title between rules, sections a blank line apart."""
    return f"{_RULE}\n【{title}】\n{_RULE}\n" + "\n".join(sections) + f"{_RULE}\n"


# --- PC templates --------------------------------------------------------------------------------------

_ORDER_CONFIRMATION = (
    _GREETING
    + """\
ご注文を下記の内容で承りましたので、ご確認ください。

"""
    + _INSERT
    + _summary("ご注文内容", _ORDER_FACTS, _ORDERER, _DESTINATION, _ITEMS, _AMOUNTS + _REMARKS)
    + """
ご注文内容に誤りがございましたら、お手数ですが
本メールへのご返信にてお知らせください。

商品の在庫を確認のうえ、改めてご連絡を差し上げます。
今しばらくお待ちくださいますよう、お願い申し上げます。

"""
    + _CLOSING
)

_STOCK_CONFIRMED = (
    _GREETING
    + """\
ご注文いただきました商品の在庫を確認いたしました。
ご注文内容とお支払金額は下記のとおりです。

"""
    + _INSERT
    + _summary("ご注文内容", _ORDER_FACTS, _DESTINATION, _ITEMS, _AMOUNTS)
    + """
銀行振込などの前払いでお支払いの場合は、ご入金の確認後に
発送いたします。お振込みについては別途ご案内いたします。
発送の準備が整いましたら、改めてご連絡いたします。

ご不明な点がございましたら、お気軽にお問い合わせください。
"""
    + _CLOSING
)

_PAYMENT_REQUEST = (
    _GREETING
    + """\
ご注文代金のお支払いについてご案内いたします。
下記のご請求金額をお振込みくださいますよう、お願い申し上げます。

"""
    + _INSERT
    + _summary(
        "お支払いのご案内",
        """\
ご請求金額　：{{ 合計金額 }}
{% if 支払方法 %}
お支払方法　：{{ 支払方法 }}
{% endif %}
お支払期限　：ご注文日より7日以内

お振込先は本メール下部の署名欄をご確認ください。
・ご注文者様のお名前でお振込みください。
・ご注文者様と異なる名義でお振込みの場合は、お手数ですが
　お振込名義を本メールへのご返信にてお知らせください。
・恐れ入りますが、振込手数料はお客様のご負担となります。
""",
    )
    + "\n"
    + _summary("ご注文内容", _ORDER_FACTS, _ITEMS, _AMOUNTS)
    + """
ご入金を確認いたしましたら、改めてご連絡のうえ
発送の準備に取りかかります。
お支払期限までにご入金の確認ができない場合は、誠に勝手ながら
ご注文をキャンセルとさせていただく場合がございます。
あらかじめご了承ください。

"""
    + _CLOSING
)

_PAYMENT_RECEIVED = (
    _GREETING
    + """\
ご注文代金のご入金を確認いたしました。
お手続きいただき、誠にありがとうございます。

"""
    + _INSERT
    + _summary(
        "ご入金内容",
        """\
注文番号　　：{{ 注文番号 }}
注文日　　　：{{ 注文日 }}
{% if 支払方法 %}
お支払方法　：{{ 支払方法 }}
{% endif %}
{% if 入金日 %}
ご入金日　　：{{ 入金日 }}
{% endif %}
{% if 入金額 %}
ご入金額　　：{{ 入金額 }}
{% endif %}
ご請求金額　：{{ 合計金額 }}
""",
        _ITEMS,
    )
    + """
これより商品の発送準備に取りかかります。
発送が完了いたしましたら、お荷物のお問合せ番号とあわせて
改めてご連絡いたします。
商品の到着まで、今しばらくお待ちくださいませ。

"""
    + _CLOSING
)

_SHIPPING_PREPARATION = (
    _GREETING
    + """\
ご注文いただきました商品の発送準備を進めております。
発送の予定は下記のとおりです。

"""
    + _INSERT
    + _summary(
        "発送予定",
        """\
注文番号　　：{{ 注文番号 }}
注文日　　　：{{ 注文日 }}
{% if 配送方法 %}
配送方法　　：{{ 配送方法 }}
{% endif %}
{% if 発送日 %}
発送予定日　：{{ 発送日 }}
{% endif %}
{% if お届け希望日 %}
お届け希望日：{{ お届け希望日 }}
{% endif %}
{% if お届け時間帯 %}
お届け時間帯：{{ お届け時間帯 }}
{% endif %}
""",
        _DESTINATION,
        _ITEMS,
        _AMOUNTS,
    )
    + """
発送が完了いたしましたら、お荷物のお問合せ番号とあわせて
改めてご連絡いたします。

"""
    + _COD
    + """\
お届け先やお届け希望日時に変更がございましたら、
お早めに本メールへのご返信にてお知らせください。

"""
    + _CLOSING
)

_SHIPPED = (
    _GREETING
    + """\
ご注文いただきました商品を発送いたしましたので、お知らせいたします。

"""
    + _INSERT
    + _summary(
        "発送のご案内",
        """\
注文番号　　：{{ 注文番号 }}
{% if 発送日 %}
発送日　　　：{{ 発送日 }}
{% endif %}
{% if 配送方法 %}
配送方法　　：{{ 配送方法 }}
{% endif %}
{% if お届け希望日 %}
お届け希望日：{{ お届け希望日 }}
{% endif %}
{% if お届け時間帯 %}
お届け時間帯：{{ お届け時間帯 }}
{% endif %}
{% if 送り状番号 %}
お問合せ番号：{{ 送り状番号 }}
{% if 追跡URL %}
配送状況は下記のページからご確認いただけます。
{{ 追跡URL }}
{% endif %}
※配送状況が反映されるまで、お時間がかかる場合がございます。
{% endif %}
""",
        _DESTINATION,
        _ITEMS,
        _AMOUNTS,
    )
    + "\n"
    + _COD
    + """\
商品の到着まで、今しばらくお待ちくださいませ。
お届けした商品に破損や不足などがございましたら、
お手数ですが本メールへのご返信にてご連絡ください。

またのご利用を心よりお待ちしております。
"""
    + _CLOSING
)

_PAYMENT_REMINDER = (
    _GREETING
    + """\
{{ 注文日 }}にご注文いただきました下記の商品につきまして、
本日現在、ご入金の確認ができておりません。

お手数をおかけいたしますが、下記のご請求金額を
本メールの送信日より3日以内にお振込みくださいますよう、
お願い申し上げます。

"""
    + _INSERT
    + _summary(
        "ご請求内容",
        """\
注文番号　　：{{ 注文番号 }}
注文日　　　：{{ 注文日 }}
{% if 支払方法 %}
お支払方法　：{{ 支払方法 }}
{% endif %}
ご請求金額　：{{ 合計金額 }}
""",
        _ITEMS,
    )
    + """
お振込先は本メール下部の署名欄をご確認ください。

期限までにご入金またはご連絡をいただけない場合は、
誠に勝手ながらご注文をキャンセルとさせていただきます。
ご事情によりお支払いが遅れる場合は、お手数ですが
本メールへのご返信にてお知らせください。

※本メールと行き違いでご入金いただいている場合は、
　何卒ご容赦くださいますようお願い申し上げます。

"""
    + _CLOSING
)

_FORM_REMINDER = (
    """\
{{ 注文者名 }} 様

この度は{{ 店舗名 }}の商品をご落札いただき、誠にありがとうございます。

{{ 注文日 }}にご落札いただきました下記の商品につきまして、
お取引情報（お届け先・お支払方法など）のご入力が
まだ確認できておりません。

ご入力をいただけませんと、発送のお手続きに進むことができません。
お手数ですが、Yahoo!オークションの取引ナビ（注文フォーム）より
ご入力をお願い申し上げます。

"""
    + _INSERT
    + _summary(
        "ご落札内容",
        """\
注文番号　　：{{ 注文番号 }}
落札日　　　：{{ 注文日 }}
""",
        """\
■落札商品
{{ 商品明細 }}
""",
    )
    + """
ご入力をいただき次第、発送のお手続きを進めてまいります。
ご落札から7日以内にご入力をいただけない場合は、誠に勝手ながら
お取引をキャンセルとさせていただく場合がございます。

※本メールと行き違いでご入力いただいている場合は、
　何卒ご容赦くださいますようお願い申し上げます。

"""
    + _CLOSING
)

_CANCELLATION = (
    _GREETING
    + """\
下記のご注文につきまして、キャンセルの手続きが完了いたしましたので
ご連絡いたします。

"""
    + _INSERT
    + _summary(
        "キャンセルとなったご注文",
        """\
注文番号　　：{{ 注文番号 }}
注文日　　　：{{ 注文日 }}
{% if 支払方法 %}
お支払方法　：{{ 支払方法 }}
{% endif %}
合計金額　　：{{ 合計金額 }}
""",
        """\
{% if キャンセル理由 %}
■キャンセル理由
{{ キャンセル理由 }}

{% endif %}
■ご注文商品
{{ 商品明細 }}
""",
    )
    + """
すでにお支払いいただいている代金につきましては、
返金のお手続きを別途ご案内いたします。
クレジットカードでのお支払いの場合は、ご請求が取り消されます。
取り消しの時期はカード会社により異なりますので、ご了承ください。

またのご利用を心よりお待ちしております。"""
)

# --- mobile: pieces shared by the templates --------------------------------------------------------------

_M_RULE = "━" * 12

_M_GREETING = """\
{{ 注文者名 }} 様

この度は{{ 店舗名 }}を
ご利用いただき誠にありがとうございます。
"""

_M_ORDER_FACTS = """\
■注文番号
{{ 注文番号 }}
■注文日
{{ 注文日 }}
{% if 支払方法 %}
■お支払方法
{{ 支払方法 }}
{% endif %}
{% if 配送方法 %}
■配送方法
{{ 配送方法 }}
{% endif %}
{% if お届け希望日 %}
■お届け希望日
{{ お届け希望日 }}
{% endif %}
{% if お届け時間帯 %}
■お届け時間帯
{{ お届け時間帯 }}
{% endif %}
"""

_M_DESTINATION = """\
■お届け先
{{ 送付先名 }} 様
{{ 送付先住所 }}
"""

_M_ITEMS = """\
■ご注文商品
{{ 商品明細 }}
"""

_M_AMOUNTS = """\
■お支払金額
商品合計：{{ 商品合計 }}
送料：{{ 送料 }}
{% if 代引手数料 != "0円" %}
代引手数料：{{ 代引手数料 }}
{% endif %}
{% if 割引 != "0円" %}
割引：-{{ 割引 }}
{% endif %}
{% if ポイント利用 != "0円" %}
ポイント利用：-{{ ポイント利用 }}
{% endif %}
合計：{{ 合計金額 }}（税込）
{% if 税率別内訳 %}
{{ 税率別内訳 }}
{% endif %}
"""

_M_COD = """\
{% if 代引手数料 != "0円" %}
お受け取りの際に配達員へ
{{ 合計金額 }}をお支払いください。

{% endif %}
"""

_M_CLOSING = """\
今後とも{{ 店舗名 }}を
よろしくお願いいたします。"""


def _m_summary(*sections: str) -> str:
    """The mobile summary: headed items one under the other, between two short rules."""
    return f"{_M_RULE}\n" + "".join(sections) + f"{_M_RULE}\n"


# --- mobile templates ----------------------------------------------------------------------------------

_M_ORDER_CONFIRMATION = (
    _M_GREETING
    + """\
下記の内容でご注文を承りました。

"""
    + _INSERT
    + _m_summary(_M_ORDER_FACTS, _M_DESTINATION, _M_ITEMS, _M_AMOUNTS)
    + """
在庫を確認のうえ、
改めてご連絡いたします。

"""
    + _M_CLOSING
)

_M_STOCK_CONFIRMED = (
    _M_GREETING
    + """\
ご注文商品の在庫を確認いたしました。

"""
    + _INSERT
    + _m_summary(_M_ORDER_FACTS, _M_ITEMS, _M_AMOUNTS)
    + """
前払いでお支払いの場合は、
ご入金の確認後に発送いたします。
発送の準備が整いましたら
改めてご連絡いたします。

"""
    + _M_CLOSING
)

_M_PAYMENT_REQUEST = (
    _M_GREETING
    + """\
お支払いについてご案内いたします。

"""
    + _INSERT
    + """\
■ご請求金額
{{ 合計金額 }}
■お支払期限
ご注文日より7日以内

お振込先は本メール下部の
署名欄をご確認ください。
振込手数料はお客様の
ご負担となります。

"""
    + _m_summary(
        """\
■注文番号
{{ 注文番号 }}
■注文日
{{ 注文日 }}
""",
        _M_ITEMS,
        _M_AMOUNTS,
    )
    + """
期限までにご入金が確認できない
場合は、ご注文をキャンセルと
させていただく場合がございます。

"""
    + _M_CLOSING
)

_M_PAYMENT_RECEIVED = (
    _M_GREETING
    + """\
ご入金を確認いたしました。
ありがとうございます。

"""
    + _INSERT
    + _m_summary(
        """\
■注文番号
{{ 注文番号 }}
{% if 入金日 %}
■ご入金日
{{ 入金日 }}
{% endif %}
{% if 入金額 %}
■ご入金額
{{ 入金額 }}
{% endif %}
""",
        _M_ITEMS,
    )
    + """
これより発送の準備に
取りかかります。
発送後、改めてご連絡いたします。

"""
    + _M_CLOSING
)

_M_SHIPPING_PREPARATION = (
    _M_GREETING
    + """\
ご注文商品の発送準備を
進めております。

"""
    + _INSERT
    + _m_summary(
        """\
■注文番号
{{ 注文番号 }}
{% if 配送方法 %}
■配送方法
{{ 配送方法 }}
{% endif %}
{% if 発送日 %}
■発送予定日
{{ 発送日 }}
{% endif %}
{% if お届け希望日 %}
■お届け希望日
{{ お届け希望日 }}
{% endif %}
{% if お届け時間帯 %}
■お届け時間帯
{{ お届け時間帯 }}
{% endif %}
""",
        _M_DESTINATION,
        _M_ITEMS,
    )
    + """
発送後、お問合せ番号を
ご連絡いたします。

"""
    + _M_COD
    + _M_CLOSING
)

_M_SHIPPED = (
    _M_GREETING
    + """\
ご注文商品を発送いたしました。

"""
    + _INSERT
    + _m_summary(
        """\
■注文番号
{{ 注文番号 }}
{% if 発送日 %}
■発送日
{{ 発送日 }}
{% endif %}
{% if 配送方法 %}
■配送方法
{{ 配送方法 }}
{% endif %}
{% if 送り状番号 %}
■お問合せ番号
{{ 送り状番号 }}
{% if 追跡URL %}
■配送状況の確認
{{ 追跡URL }}
{% endif %}
{% endif %}
""",
        _M_DESTINATION,
        _M_ITEMS,
    )
    + "\n"
    + _M_COD
    + """\
商品の到着まで
今しばらくお待ちください。

"""
    + _M_CLOSING
)

_M_PAYMENT_REMINDER = (
    _M_GREETING
    + """\
{{ 注文日 }}のご注文について、
ご入金の確認ができておりません。
お手数ですが、本メールの送信日
より3日以内にお振込みください。

"""
    + _INSERT
    + """\
■注文番号
{{ 注文番号 }}
■ご請求金額
{{ 合計金額 }}

お振込先は本メール下部の
署名欄をご確認ください。
期限までにご入金がない場合は
キャンセルとさせていただきます。

※行き違いでご入金済みの場合は
ご容赦ください。

"""
    + _M_CLOSING
)

_M_FORM_REMINDER = (
    """\
{{ 注文者名 }} 様

この度は{{ 店舗名 }}の商品を
ご落札いただき誠にありがとうございます。

お届け先などのご入力が
まだ確認できておりません。
お手数ですが、Yahoo!オークションの
取引ナビ（注文フォーム）より
ご入力をお願いいたします。

"""
    + _INSERT
    + """\
■注文番号
{{ 注文番号 }}
■落札日
{{ 注文日 }}
■落札商品
{{ 商品明細 }}

ご落札から7日以内にご入力が
ない場合は、お取引をキャンセル
とさせていただく場合がございます。

※行き違いでご入力済みの場合は
ご容赦ください。

"""
    + _M_CLOSING
)

_M_CANCELLATION = (
    _M_GREETING
    + """\
下記のご注文のキャンセル手続きが
完了いたしました。

"""
    + _INSERT
    + """\
■注文番号
{{ 注文番号 }}
{% if キャンセル理由 %}
■キャンセル理由
{{ キャンセル理由 }}
{% endif %}
■ご注文商品
{{ 商品明細 }}

お支払い済みの代金は
別途返金のご案内をいたします。

またのご利用を
心よりお待ちしております。"""
)

TEMPLATES: tuple[DefaultTemplate, ...] = (
    DefaultTemplate(
        "order_confirmation",
        PC,
        "【{{ 店舗名 }}】ご注文ありがとうございます（注文番号：{{ 注文番号 }}）",
        _ORDER_CONFIRMATION,
    ),
    DefaultTemplate("order_confirmation", MOBILE, "【{{ 店舗名 }}】ご注文ありがとうございます", _M_ORDER_CONFIRMATION),
    DefaultTemplate(
        "stock_confirmed",
        PC,
        "【{{ 店舗名 }}】ご注文商品の在庫確認のお知らせ（注文番号：{{ 注文番号 }}）",
        _STOCK_CONFIRMED,
    ),
    DefaultTemplate("stock_confirmed", MOBILE, "【{{ 店舗名 }}】在庫確認のお知らせ", _M_STOCK_CONFIRMED),
    DefaultTemplate(
        "payment_request", PC, "【{{ 店舗名 }}】お支払いのご案内（注文番号：{{ 注文番号 }}）", _PAYMENT_REQUEST
    ),
    DefaultTemplate("payment_request", MOBILE, "【{{ 店舗名 }}】お支払いのご案内", _M_PAYMENT_REQUEST),
    DefaultTemplate(
        "payment_received",
        PC,
        "【{{ 店舗名 }}】ご入金確認のお知らせ（注文番号：{{ 注文番号 }}）",
        _PAYMENT_RECEIVED,
    ),
    DefaultTemplate("payment_received", MOBILE, "【{{ 店舗名 }}】ご入金確認のお知らせ", _M_PAYMENT_RECEIVED),
    DefaultTemplate(
        "shipping_preparation",
        PC,
        "【{{ 店舗名 }}】発送準備のお知らせ（注文番号：{{ 注文番号 }}）",
        _SHIPPING_PREPARATION,
    ),
    DefaultTemplate("shipping_preparation", MOBILE, "【{{ 店舗名 }}】発送準備のお知らせ", _M_SHIPPING_PREPARATION),
    DefaultTemplate("shipped", PC, "【{{ 店舗名 }}】商品発送のお知らせ（注文番号：{{ 注文番号 }}）", _SHIPPED),
    DefaultTemplate("shipped", MOBILE, "【{{ 店舗名 }}】商品発送のお知らせ", _M_SHIPPED),
    DefaultTemplate(
        "payment_reminder", PC, "【{{ 店舗名 }}】ご入金のお願い（注文番号：{{ 注文番号 }}）", _PAYMENT_REMINDER
    ),
    DefaultTemplate("payment_reminder", MOBILE, "【{{ 店舗名 }}】ご入金のお願い", _M_PAYMENT_REMINDER),
    DefaultTemplate(
        "form_reminder",
        PC,
        "【{{ 店舗名 }}】お取引情報ご入力のお願い（注文番号：{{ 注文番号 }}）",
        _FORM_REMINDER,
    ),
    DefaultTemplate("form_reminder", MOBILE, "【{{ 店舗名 }}】お取引情報ご入力のお願い", _M_FORM_REMINDER),
    DefaultTemplate(
        "cancellation",
        PC,
        "【{{ 店舗名 }}】ご注文キャンセルのお知らせ（注文番号：{{ 注文番号 }}）",
        _CANCELLATION,
    ),
    DefaultTemplate("cancellation", MOBILE, "【{{ 店舗名 }}】ご注文キャンセルのお知らせ", _M_CANCELLATION),
)
