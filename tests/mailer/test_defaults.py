"""The templates, kinds and mobile domains every new tenant gets (mailer.defaults): complete, accepted by the
save check, rendered without a hole or a stray blank line, sendable as ISO-2022-JP, laid out for the device."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from mailer.defaults import KINDS, MOBILE_DOMAINS, TEMPLATES, DefaultTemplate
from mailer.models import BuiltinKind, Device
from mailer.rendering import check_template, jis_safe, render_text, sample_context

# What an order may leave empty (or at 0円) while its mail still has to read well.
OPTIONAL = (
    "差込文",
    "備考",
    "お届け希望日",
    "お届け時間帯",
    "発送日",
    "送り状番号",
    "追跡URL",
    "キャンセル理由",
    "送付先会社名",
    "送付先電話番号",
    "注文者住所",
    "注文者電話番号",
    "入金額",
    "入金日",
    "税率別内訳",
)
FEES = ("送料", "代引手数料", "割引", "ポイント利用")

# Columns of a line in a Japanese mail reader: wide and ambiguous characters (━, ■, ※) take two.
MAX_COLUMNS = {Device.PC: 76, Device.MOBILE: 40}


def sparse_context() -> dict[str, Any]:
    context = sample_context()
    context.update(dict.fromkeys(OPTIONAL, ""))
    context.update(dict.fromkeys(FEES, "0円"))
    return context


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def template(kind: str, device: str) -> DefaultTemplate:
    (found,) = (t for t in TEMPLATES if t.kind == kind and t.device == device)
    return found


def by_template(test: Any) -> Any:
    return pytest.mark.parametrize("tpl", TEMPLATES, ids=[f"{t.kind}-{t.device}" for t in TEMPLATES])(test)


def test_every_builtin_kind_has_one_pc_and_one_mobile_template() -> None:
    pairs = [(t.kind, t.device) for t in TEMPLATES]

    assert sorted(pairs) == sorted((kind, device) for kind in BuiltinKind.values for device in Device.values)


def test_kinds_are_the_builtin_kinds_with_their_japanese_names_in_order() -> None:
    assert [code for code, _name, _position in KINDS] == list(BuiltinKind.values)
    assert {code: name for code, name, _position in KINDS} == {
        "order_confirmation": "注文確認",
        "stock_confirmed": "在庫確認",
        "payment_request": "入金案内",
        "payment_received": "入金確認",
        "shipping_preparation": "発送準備",
        "shipped": "発送完了",
        "payment_reminder": "入金催促",
        "form_reminder": "注文フォーム未記入催促",
        "cancellation": "キャンセル",
    }
    positions = [position for _code, _name, position in KINDS]
    assert positions == sorted(set(positions))


def test_mobile_domains_are_bare_lowercase_and_none_is_covered_by_another() -> None:
    assert {"docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp"} <= set(MOBILE_DOMAINS)
    assert len(set(MOBILE_DOMAINS)) == len(MOBILE_DOMAINS)
    for domain in MOBILE_DOMAINS:
        assert domain == domain.strip().lower().lstrip("@.")
        # a subdomain counts too, so a domain under another listed one would only be a duplicate row
        assert not any(domain.endswith("." + other) for other in MOBILE_DOMAINS), domain


@by_template
def test_template_passes_the_save_check(tpl: DefaultTemplate) -> None:
    check_template(subject=tpl.subject, body=tpl.body, charset="utf-8")


@by_template
@pytest.mark.parametrize("context", [sample_context, sparse_context], ids=["full", "sparse"])
def test_template_renders_without_holes_or_stray_blank_lines(tpl: DefaultTemplate, context: Any) -> None:
    subject = render_text(tpl.subject, context())
    body = render_text(tpl.body, context())

    assert "{" not in subject
    assert "}" not in subject
    assert "\n" not in subject
    assert "{{" not in body
    assert "{%" not in body
    assert body.startswith("サンプル 様\n\n")
    assert body == body.rstrip(), "the body ends with its last line (the signature follows)"
    assert "\n\n\n" not in body, "never two blank lines in a row"


@by_template
def test_insert_text_shows_when_the_rules_set_it(tpl: DefaultTemplate) -> None:
    insert = "年末年始の発送は1月5日より順次となります。"

    with_insert = render_text(tpl.body, {**sparse_context(), "差込文": insert})
    without = render_text(tpl.body, sparse_context())

    assert insert in with_insert
    assert with_insert.replace(insert + "\n\n", "") == without


@by_template
def test_template_goes_out_as_iso_2022_jp(tpl: DefaultTemplate) -> None:
    tpl.subject.encode("iso-2022-jp")
    tpl.body.encode("iso-2022-jp")
    for text in (render_text(tpl.subject, sample_context()), render_text(tpl.body, sample_context())):
        assert jis_safe(text) == (text, [])


@by_template
def test_static_lines_fit_the_device(tpl: DefaultTemplate) -> None:
    limit = MAX_COLUMNS[Device(tpl.device)]
    static = [line for line in tpl.body.splitlines() if "{" not in line]

    too_long = [line for line in static if columns(line) > limit]

    assert static
    assert too_long == []


@pytest.mark.parametrize("device", Device.values)
def test_shipped_mail_shows_the_tracking_number_only_when_the_shipment_has_one(device: str) -> None:
    shipped = template(BuiltinKind.SHIPPED, device)

    tracked = render_text(
        shipped.body, {**sample_context(), "送り状番号": "1234-5678-9012", "追跡URL": "https://example.com/t"}
    )
    untracked = render_text(shipped.body, {**sample_context(), "送り状番号": "", "追跡URL": ""})

    assert "お問合せ番号" in tracked
    assert "1234-5678-9012" in tracked
    assert "https://example.com/t" in tracked
    assert "お問合せ番号" not in untracked
    assert "配送状況" not in untracked


@pytest.mark.parametrize("device", Device.values)
def test_cancellation_gives_the_reason_only_when_there_is_one(device: str) -> None:
    cancellation = template(BuiltinKind.CANCELLATION, device)

    given = render_text(cancellation.body, {**sparse_context(), "キャンセル理由": "お客様のご都合によるキャンセル"})
    none = render_text(cancellation.body, sparse_context())

    assert "キャンセル理由\nお客様のご都合によるキャンセル" in given
    assert "キャンセル理由" not in none


def test_cod_fee_is_listed_only_for_cash_on_delivery() -> None:
    confirmation = template(BuiltinKind.ORDER_CONFIRMATION, Device.PC)

    cod = render_text(confirmation.body, {**sparse_context(), "代引手数料": "330円"})
    prepaid = render_text(confirmation.body, sparse_context())

    assert "代引手数料　：330円" in cod
    assert "代引手数料" not in prepaid
    assert "送料　　　　：0円" in prepaid


@pytest.mark.parametrize("device", Device.values)
def test_payment_mails_tell_the_amount_and_where_the_bank_account_is(device: str) -> None:
    context = {**sample_context(), "合計金額": "4,180円"}

    request = render_text(template(BuiltinKind.PAYMENT_REQUEST, device).body, context)
    reminder = render_text(template(BuiltinKind.PAYMENT_REMINDER, device).body, context)

    for body in (request, reminder):
        assert "4,180円" in body
        assert "署名欄" in body
    assert "7日以内" in request
    assert "行き違い" in reminder
