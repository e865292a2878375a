"""Chinese personal-information recognisers: what 公示 must hide before a decision is published.

Why: DOMAIN.md §6 (公示, 国办发〔2018〕118号) publishes 文号, party, violation, penalty, agency and date,
but a natural person's ID number, home address, phone and bank account, and an organisation's bank
account, must be masked; 个人信息保护法 (Art. 28) makes ID numbers, financial accounts and a person's
whereabouts *sensitive* personal information, whose disclosure needs a legal basis the public
notice does not have. Officers type these into any free-text field (the party name included:
“张三（身份证110101…）”), written with spaces, hyphens, country codes or brackets, so every
published field goes through :func:`mask_text`.

What is kept is what makes the notice useful and still identifies nobody: the region and the last 4
of an ID (first 6 / last 4, the convention of GB/T 35273 and of court judgments online), the operator
prefix and last 4 of a mobile, the area code of a landline, the last 4 of an account, and the
province / city / district of an address (its street, house, building and room are hidden).

What is *not* personal and stays readable: statute articles (第六十三条, 第12条), amounts (罚款5000元,
50,000元), dates (2026年12月5日, 2026-12-05), document numbers (X市监处罚〔2026〕12号), organisations'
unified social credit codes (统一社会信用代码, GB 32100: organisations are published unmasked, and
a code is recognised by its check character), company names and the names of laws.

The recognisers are a table (:data:`RECOGNISERS`), applied in order, each a compiled pattern and a
masking function. The patterns use Python's ``re`` only, with bounded repeats and no repeat nested
inside another variable one, so that no input can make them backtrack catastrophically
(tests/test_pii_masking.py checks the parsed patterns and times adversarial inputs). Health data and
the names of non-parties cannot be recognised by their shape: the officer withholds them
(``publication_restriction``) or leaves them out of the published fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MASK = "*"
HIDDEN = "（已隐去）"  # stands for a hidden address detail

_SEP = r"[ \u3000\-－]"  # one space (half or full width) or hyphen between digit groups
# After a keyword, digits are taken only when a run of them ends there: not the start of a number
# another recogniser has already masked (``138-****-8000``), which would otherwise be masked twice.
_UNTOUCHED = r"(?![ \u3000\-－()（）]{0,2}[\dXx*])"


@dataclass(frozen=True)
class Recogniser:
    """One kind of personal information: how to find it and how to publish it."""

    name: str
    pattern: re.Pattern[str]
    mask: Callable[[re.Match[str]], str]
    why: str


def mask_text(text: str) -> str:
    """``text`` with every recognised piece of personal information masked, the rest unchanged."""
    if not text:
        return text
    for recogniser in RECOGNISERS:
        text = recogniser.pattern.sub(recogniser.mask, text)
    return text


def is_credit_code(value: str) -> bool:
    """An organisation's 统一社会信用代码 (GB 32100-2015): 18 characters whose last is the check."""
    value = value.upper()
    if len(value) != 18 or any(c not in _USCC_ALPHABET for c in value):
        return False
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(value[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == value[17]


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


# ------------------------------------------------------------------------------------------- maskers
def _keep(first: int, last: int, group: str = "num", accept: Callable[[str], bool] | None = None
          ) -> Callable[[re.Match[str]], str]:
    """Replace the digits (and an ID's X) of ``group`` by ``*``, except the first and last few;
    separators, brackets and the text around the group stay as written."""

    def mask(m: re.Match[str]) -> str:
        value = m.group(group)
        if accept is not None and not accept(value):
            return m.group(0)
        places = [i for i, c in enumerate(value) if c.isdigit() or c in "Xx"]
        hidden = set(places[first:len(places) - last])
        masked = "".join(MASK if i in hidden else c for i, c in enumerate(value))
        return m.string[m.start():m.start(group)] + masked + m.string[m.end(group):m.end()]

    return mask


def _hide_address(m: re.Match[str]) -> str:
    return m.group("keep") + HIDDEN


def _compact(value: str) -> str:
    return "".join(c for c in value if c.isdigit() or c in "Xx")


def _looks_like_id(value: str) -> bool:
    """A 居民身份证号码 (GB 11643): a plausible birth date at digits 7–14. A code without one is an ID
    still, unless it is an organisation's credit code (then it is not personal)."""
    digits = _compact(value)
    year, month, day = int(digits[6:10]), int(digits[10:12]), int(digits[12:14])
    birth = 1850 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31
    return birth or not is_credit_code(digits)


def _not_credit_code(value: str) -> bool:
    return not is_credit_code(_compact(value))


# ------------------------------------------------------------------------------------------- patterns
def _cjk_except(excluded: str) -> str:
    """The CJK unified ideographs as a character-class body, without the ``excluded`` ones."""
    ranges, start = [], 0x4E00
    for code in sorted({ord(c) for c in excluded}):
        if start <= code - 1:
            ranges.append(f"{chr(start)}-{chr(code - 1)}" if start < code - 1 else chr(start))
        start = code + 1
    ranges.append(f"{chr(start)}-\u9fff")
    return "".join(ranges)


# An address detail runs from an administrative level (省 / 市 / 区 / 县 / 旗 / 州 / 盟) to a house
# number: street, village, building, unit, room. The detail never crosses another 省/市/区/县 (so the
# *last* level is the one kept) nor the words of ordinary legal text (…局, …院, …府, 第…条, …年…月).
_ADMIN = "省市区县"
_STOP = "的对在于向被将和及与是为了以其等已未不无有共计约余多个内外局府院委会厅办处所科站年月日时第条款项元万亿次件批份罚字"
_DETAIL_START = f"[{_cjk_except(_ADMIN + _STOP)}]"  # a name, never a bare count (全区3户, 辖区内5家)
_DETAIL_CHAR = f"[{_cjk_except(_ADMIN + _STOP)}0-9０-９A-Za-z#\\-－]"
_NUMERAL = "[0-9０-９一二三四五六七八九十百零〇两甲乙丙丁A-Za-z]"
_UNIT = "(?:号院|号楼|号|室|组|栋|幢|单元|层|楼|户|弄|排|队|座)"
_ADDRESS = (
    f"(?P<keep>省|市(?!场)|区|县|旗|州|盟)"
    f"(?P<detail>{_DETAIL_START}(?:{_DETAIL_CHAR}|单元|小区|社区|园区|校区|景区|厂区|市场){{0,30}}{_NUMERAL}{{1,6}}{_UNIT})"
)

RECOGNISERS: tuple[Recogniser, ...] = (
    Recogniser(
        "address_after_keyword",
        re.compile(r"((?:住址|住所|地址|家住|居住于|现住)[:：]?)[^，。；;,\n]{2,60}"),
        lambda m: m.group(1) + HIDDEN,
        "住址 / 家住 …: what follows is a home address (DOMAIN §6); hidden to the next punctuation",
    ),
    Recogniser(
        "id_number",
        re.compile(rf"(?<!\d)(?P<num>\d{{6}}{_SEP}?(?:\d{{8}}|\d{{4}}{_SEP}?\d{{4}}){_SEP}?\d{{3}}[\dXx])(?!\d)"),
        _keep(6, 4, accept=_looks_like_id),
        "居民身份证号码, also as 6-8-4 or 6-4-4-4 groups: keep the region (first 6) and the last 4",
    ),
    Recogniser(
        "id_number_after_keyword",
        re.compile(rf"(?P<kw>(?:公民)?身份(?:证|号码)(?:号码|号)?|证件号(?:码)?)(?P<gap>[:：为是]?[ \u3000]?)"
                   rf"(?P<num>\d[\d \u3000\-－Xx]{{10,24}}[\dXx]){_UNTOUCHED}"),
        _keep(6, 4),
        "身份证号 followed by digits in any grouping: keep the first 6 and last 4",
    ),
    Recogniser(
        "bank_card_grouped",
        re.compile(rf"(?<![\dA-Za-z])(?P<num>\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{3,4}}"
                   rf"(?:{_SEP}\d{{4}}|{_SEP}\d{{3}}|{_SEP}\d{{2}}|{_SEP}\d|))(?![\dA-Za-z])"),
        _keep(0, 4),
        "bank card written in groups of 4 (15–20 digits): keep the last 4",
    ),
    Recogniser(
        "mobile",
        re.compile(rf"(?<!\d)(?P<cc>\(\+86\)|（\+86）|\+86{_SEP}|\+86|0086{_SEP}|0086|86-)?"
                   rf"(?P<num>1[3-9]\d{_SEP}?\d{{4}}{_SEP}?\d{{4}})(?!\d)"),
        _keep(3, 4),
        "mobile number, with or without +86 and spaces or hyphens: keep the operator prefix and the last 4",
    ),
    Recogniser(
        "landline",
        re.compile(r"(?<![\dA-Za-z])(?P<area>\(0(?:10|2\d|[3-9]\d\d)\)|（0(?:10|2\d|[3-9]\d\d)）|0(?:10|2\d|[3-9]\d\d)"
                   rf"|\+86{_SEP}?(?:10|2\d|[3-9]\d\d))(?P<sep>{_SEP}?)(?P<num>\d{{3,4}}{_SEP}?\d{{4}})(?!\d)"),
        _keep(0, 0),
        "landline with its area code (010, 02x or 0xxx; bracketed or not): keep the area code",
    ),
    Recogniser(
        "account_after_keyword",
        re.compile(r"(?P<kw>(?:银行|开户)?(?:账号|帐号|账户|帐户|卡号)|银行卡(?:号)?)(?P<gap>[:：为是]?[ \u3000]?)"
                   rf"(?P<num>\d[\d \u3000\-－]{{6,30}}\d){_UNTOUCHED}"),
        _keep(0, 4),
        "账号 / 卡号 followed by digits in any grouping: keep the last 4",
    ),
    Recogniser(
        "account",
        re.compile(r"(?<![\dA-Za-z])(?P<num>\d{12,25})(?![\dA-Za-z])"),
        _keep(0, 4, accept=_not_credit_code),
        "bank card (16–19 digits) or account (up to 25) (an organisation's too): keep the last 4; a credit code is not one",
    ),
    Recogniser(
        "phone_after_keyword",
        re.compile(r"(?P<kw>(?:联系)?(?:电话|手机|座机|传真)(?:号码|号)?|[Tt]el|TEL|[Pp]hone)(?P<gap>[:：为是]?[ \u3000.]?)"
                   rf"(?P<num>[(（+]?\d[\d \u3000\-－()（）]{{4,20}}\d){_UNTOUCHED}"),
        _keep(0, 0),
        "电话 / 手机 followed by digits no other recogniser knew (no area code, odd grouping): all hidden",
    ),
    Recogniser(
        "email",
        re.compile(r"(?<![A-Za-z0-9._%+\-])(?P<user>[A-Za-z0-9._%+\-]{1,64})@(?P<domain>[A-Za-z0-9\-]{1,63}\.[A-Za-z0-9.\-]{1,190})"),
        lambda m: m.group("user")[0] + "***@" + m.group("domain"),
        "e-mail address (contact data like a phone): keep the first letter and the domain",
    ),
    Recogniser(
        "address",
        re.compile(_ADDRESS),
        _hide_address,
        "an address down to a house number: keep province, city and district, hide street, village, building, room",
    ),
)
