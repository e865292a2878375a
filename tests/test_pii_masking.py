"""公示 masking (engine.publication.masking): a corpus of personal data as officers type it, ordinary legal text
that must come out unchanged, the patterns' shape (no catastrophic backtracking), and the real
publication path: a party name and a violation with an ID number and a phone in them are published
masked."""

from __future__ import annotations

import json
import time
from re import _constants as sre  # the parser's opcodes, to read the patterns' structure
from re import _parser as sre_parse

import pytest
from sqlalchemy import select

from engine.casefile.verify import verify_record
from engine.models import Publication, Task, db
from engine.publication.masking import RECOGNISERS, is_credit_code, mask_text
from engine.publication.publish import mask_text as publication_mask_text
from engine.publication.publish import sweep_publications
from engine.runtime import complete_task, start_case
from tests.conftest import user
from tests.support.documents import DECISION as DOCUMENT_DECISION
from tests.support.documents import deploy_documents

# ---------------------------------------------------------------------------------------------- corpus
# (as typed, as published). Kept: first 6 + last 4 of an ID, first 3 + last 4 of a mobile, the area
# code of a landline, last 4 of an account, first letter + domain of an e-mail, province / city /
# district of an address. Separators and brackets stay as written.
PII = [
    # 居民身份证号码
    ("身份证号110101199001011234", "身份证号110101********1234"),
    ("身份证号码：110101 19900307 1234", "身份证号码：110101 ******** 1234"),
    ("公民身份号码110101-1990-0307-123X", "公民身份号码110101-****-****-123X"),
    ("当事人张三（身份证号11010119900307123X）", "当事人张三（身份证号110101********123X）"),
    ("证件号码 110101 1990 0307 1234，", "证件号码 110101 **** **** 1234，"),
    ("身份证：110101－19900307－1234", "身份证：110101－********－1234"),
    ("张三，男，身份证110101199003071234，无业", "张三，男，身份证110101********1234，无业"),
    ("李四 11010519851231002X 经营", "李四 110105********002X 经营"),
    ("身份证号 110101 199003 071234", "身份证号 110101 ****** **1234"),
    ("身份证号为 1101 0119 9003 0712 34", "身份证号为 1101 01** **** **12 34"),
    ("王五(420106198512125678)", "王五(420106********5678)"),
    ("当事人身份证号码：370202 19750615 4321，电话13912345678", "当事人身份证号码：370202 ******** 4321，电话139****5678"),
    ("110101-19900307-1234", "110101-********-1234"),
    ("身份证号110101199013451234（出生日期有误）", "身份证号110101********1234（出生日期有误）"),
    # mobiles
    ("联系电话13800138000", "联系电话138****8000"),
    ("手机：138 0013 8000", "手机：138 **** 8000"),
    ("手机号138-0013-8000。", "手机号138-****-8000。"),
    ("电话+86 13800138000", "电话+86 138****8000"),
    ("电话：+86-138-0013-8000", "电话：+86-138-****-8000"),
    ("联系方式 +8613912345678", "联系方式 +86139****5678"),
    ("0086 15012345678", "0086 150****5678"),
    ("(+86)18612345678", "(+86)186****5678"),
    ("手机1380013 8000", "手机138**** 8000"),
    ("张三13800138000销售过期食品", "张三138****8000销售过期食品"),
    ("经营者赵六（手机：199 1234 5678）", "经营者赵六（手机：199 **** 5678）"),
    ("电话 17712345678、15912345678", "电话 177****5678、159****5678"),
    # landlines
    ("座机010-62345678", "座机010-********"),
    ("电话(010)6512-3456", "电话(010)****-****"),
    ("电话（010）65123456", "电话（010）********"),
    ("联系电话：0755-8888-9999", "联系电话：0755-****-****"),
    ("电话 021 6234 5678", "电话 021 **** ****"),
    ("+86 10 6512 3456", "+86 10 **** ****"),
    ("电话0371-67891234转801", "电话0371-********转801"),
    ("传真：（0755）8888 9999", "传真：（0755）**** ****"),
    ("电话：6512 3456", "电话：**** ****"),
    ("Tel: 6512-3456", "Tel: ****-****"),
    # bank cards and accounts
    ("开户账号6222021234567890123", "开户账号***************0123"),
    ("对公账户 110123456789 已冻结", "对公账户 ********6789 已冻结"),
    ("银行卡号：6222 0212 3456 7890 123", "银行卡号：**** **** **** ***0 123"),
    ("卡号6222-0212-3456-7890", "卡号****-****-****-7890"),
    ("账号 622202 1234567890123", "账号 ****** *********0123"),
    ("违法所得转入6217 0000 1234 5678 901账户", "违法所得转入**** **** **** ***8 901账户"),
    ("收款账号：1234 5678 9012 3456", "收款账号：**** **** **** 3456"),
    ("银行账户为6228480402564890018", "银行账户为***************0018"),
    ("其账户6222 0212 3456 789", "其账户**** **** ***6 789"),
    ("某某超市有限公司基本户：11050162530000001234", "某某超市有限公司基本户：****************1234"),
    # e-mail
    ("邮箱zhangsan@example.com", "邮箱z***@example.com"),
    ("联系 wang.wu+shop@mail.example.cn 获取", "联系 w***@mail.example.cn 获取"),
    # addresses after a keyword: the whole value
    ("住址：北京市东城区某街道1号院2单元", "住址：（已隐去）"),
    ("家住某某县某某镇某某村12组，", "家住（已隐去），"),
    ("现住某某市某某区某某路8号。", "现住（已隐去）。"),
    # addresses without a keyword: the district stays
    ("北京市朝阳区建国路88号3单元502室", "北京市朝阳区（已隐去）"),
    ("某某省某某市某某县某某镇某某村12组", "某某省某某市某某县（已隐去）"),
    ("当事人在北京市朝阳区建国路88号销售过期食品", "当事人在北京市朝阳区（已隐去）销售过期食品"),
    ("北京市朝阳区某某小区3号楼502室", "北京市朝阳区（已隐去）"),
    ("上海市浦东新区某某路1号", "上海市浦东新区（已隐去）"),
    ("青岛市市北区杭州路12号", "青岛市市北区（已隐去）"),
    ("广东省广州市天河区某某大道中123号A座1801室", "广东省广州市天河区（已隐去）"),
    ("浙江省杭州市西湖区文三路477号", "浙江省杭州市西湖区（已隐去）"),
    ("某某县某某乡某某村三组", "某某县（已隐去）"),
    ("某某区某某街道某某社区5栋2单元301室", "某某区（已隐去）"),
    ("内蒙古自治区某某盟某某旗某某苏木某某嘎查3号", "内蒙古自治区（已隐去）"),
    ("某某区某某农贸市场3号摊位", "某某区（已隐去）摊位"),
    ("经营场所位于某某市某某区某某路12-3号", "经营场所位于某某市某某区（已隐去）"),
    ("湖北省武汉市洪山区珞喻路1037号", "湖北省武汉市洪山区（已隐去）"),
    ("某某市某某区某某路88号便利店", "某某市某某区（已隐去）便利店"),
    # several at once, as in a party name or a finding of facts
    ("张三（身份证110101199001011234，电话13812345678，住北京市朝阳区建国路88号3单元502室）",
     "张三（身份证110101********1234，电话138****5678，住北京市朝阳区（已隐去））"),
    ("当事人（身份证号110101199001011234，电话13812345678）销售过期食品",
     "当事人（身份证号110101********1234，电话138****5678）销售过期食品"),
    ("张三 110101 19900307 1234 / 138-0013-8000 / 6222 0212 3456 7890 123",
     "张三 110101 ******** 1234 / 138-****-8000 / **** **** **** ***0 123"),
]

CLEAN = [
    "X市监处罚〔2026〕12号",
    "京朝市监罚字〔2026〕第0001号",
    "违反《中华人民共和国食品安全法》第三十四条第十项",
    "依据《行政处罚法》第六十三条、第12条",
    "罚款人民币5,000.00元，违法所得3000元",
    "罚款5000元，50,000元，100000元",
    "罚款人民币12,345,678.00元",
    "2026年12月5日",
    "2026-12-05",
    "2026年3月2日至2026年3月11日",
    "决定日期：20261205",
    "统一社会信用代码91110000600037341L",
    "统一社会信用代码：914403001922400010",
    "某某科技有限公司（91110108MA01234567）",
    "某某超市有限公司",
    "北京某某餐饮管理有限公司朝阳分公司",
    "北京市朝阳区某某食品店",
    "X市市场监督管理局执法一科",
    "六十日内向X市人民政府申请行政复议",
    "六个月内向X市某区人民法院提起行政诉讼",
    "当事人于2026年2月在其经营场所销售超过保质期的食品。",
    "没收违法所得、没收非法财物",
    "警告",
    "X市人民政府令第3号",
    "某某省食品药品监督管理局2026年第3号公告",
    "某某县人民政府办公室",
    "某某县某某镇某某村卫生室",
    "货值金额共计1380元，涉及3个批次",
    "辖区内3户经营者",
    "《某某省食品小作坊管理条例》第12条",
    "销售过期食品30余件，责令改正",
    "罚款人民币13,800,138.00元",
]


def test_corpus_sizes():
    assert len(PII) >= 60 and len(CLEAN) >= 20


@pytest.mark.parametrize(("raw", "published"), PII, ids=[f"pii{i}" for i in range(len(PII))])
def test_personal_data_is_masked_exactly(raw, published):
    assert mask_text(raw) == published


def test_the_whole_corpus_is_right():
    """100% on both sides: every piece of personal data masked as expected, no ordinary text touched."""
    masked_right = sum(mask_text(raw) == published for raw, published in PII) / len(PII)
    left_alone = sum(mask_text(text) == text for text in CLEAN) / len(CLEAN)
    assert (masked_right, left_alone) == (1.0, 1.0)


@pytest.mark.parametrize("text", CLEAN, ids=[f"clean{i}" for i in range(len(CLEAN))])
def test_ordinary_legal_text_is_unchanged(text):
    assert mask_text(text) == text


def test_publication_keeps_its_public_name_for_the_masking():
    assert publication_mask_text is mask_text


def test_each_recogniser_is_needed_by_the_corpus():
    """Every entry of the table masks something in the corpus on its own (no dead entry)."""
    for recogniser in RECOGNISERS:
        assert any(recogniser.pattern.sub(recogniser.mask, raw) != raw for raw, _ in PII), recogniser.name


def test_credit_codes_are_recognised_by_their_check_character():
    assert is_credit_code("91110000600037341L") and is_credit_code("914403001922400010")
    assert not is_credit_code("914403001922400011") and not is_credit_code("110101199001011234")
    # one wrong character: not a credit code, so an ID number mistyped or not, and masked as one
    assert mask_text("914403001922400011") == "914403********0011"


# ---------------------------------------------------------------------------------------------- shape
def _repeats(parsed: sre_parse.SubPattern, inside: bool = False) -> list[tuple[int, int, bool]]:
    """Every repeat of a parsed pattern: (min, max, whether it is inside another repeat)."""
    found = []
    for op, av in parsed:
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            lo, hi, body = av
            found.append((lo, hi, inside))
            found += _repeats(body, True)
        elif op is sre.SUBPATTERN:
            found += _repeats(av[-1], inside)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            found += _repeats(av[1], inside)
        elif op is sre.BRANCH:
            for branch in av[1]:
                found += _repeats(branch, inside)
    return found


@pytest.mark.parametrize("recogniser", RECOGNISERS, ids=lambda r: r.name)
def test_patterns_are_bounded_and_never_nest_repeats(recogniser):
    repeats = _repeats(sre_parse.parse(recogniser.pattern.pattern, recogniser.pattern.flags))
    assert repeats, recogniser.name
    assert all(hi != sre.MAXREPEAT and hi <= 200 for _, hi, _ in repeats), "every repeat is bounded"
    assert not [r for r in repeats if r[2]], "a repeat nested inside another repeat"


@pytest.mark.parametrize("attack", [
    "1 " * 20000, "1" * 40000, "1-" * 20000, ("电话" + "1 " * 15) * 2000, "某" * 40000, ("区" + "某" * 29) * 1000,
    "市某1" * 15000, "区" + "1号" * 20000, "a" * 40000, "a@" * 20000, "a@b" + ".b" * 20000, "住址" * 20000,
    "(010" * 15000, ("账号" + "1 " * 40) * 500, ("a" * 63 + ".") * 500, "1X" * 20000, "+86 " * 15000,
])
def test_adversarial_input_is_masked_in_linear_time(attack):
    started = time.perf_counter()
    mask_text(attack)
    assert time.perf_counter() - started < 2.0  # about 0.02 s; catastrophic backtracking takes hours


# ---------------------------------------------------------------------------------------------- the real path
DECISION = {**DOCUMENT_DECISION,
            "facts_found": "当事人（身份证号 110101 19900307 1234，手机 138-0013-8000）在北京市朝阳区建国路88号3单元502室销售过期食品。"}


@pytest.fixture
def documents(app) -> int:
    return deploy_documents(app)


def _decide(party_type: str, party: str) -> int:
    case = start_case(user("a_handler1"), "doc_test", {"party_type": party_type, "party_name": party}, {"violation": "销售过期食品"})
    task_id = db.session.scalars(select(Task.id).where(Task.case_id == case.id, Task.status == "open")).one()
    complete_task(user("a_handler1"), task_id, DECISION)
    return case.id


def test_party_name_and_violation_are_published_masked(app, people, documents, frozen):
    with app.app_context():
        person = _decide("citizen", "张三（身份证110101199001011234，电话13812345678）")
        company = _decide("organization", "某某超市有限公司（统一社会信用代码91110000600037341L）")
        sweep_publications()
        rows = {r.case_id: r for r in db.session.scalars(select(Publication))}
        row = rows[person]
        assert row.status == "published"
        assert row.party == "张三（身份证110101********1234，电话138****5678）"
        assert row.violation == ("当事人（身份证号 110101 ******** 1234，手机 138-****-8000）在北京市朝阳区（已隐去）"
                                 "销售过期食品。")
        assert row.content["当事人"] == row.party and row.content["违法行为"] == row.violation
        assert row.content["文号"] == "X市监处罚〔2026〕1号" and row.penalty == "罚款人民币5,000.00元"
        assert rows[company].party == "某某超市有限公司（统一社会信用代码91110000600037341L）"  # organisations unmasked
        published = json.dumps([r.content for r in rows.values()], ensure_ascii=False)
        for raw in ("110101199001011234", "13812345678", "19900307", "0013", "建国路", "502室"):
            assert raw not in published, raw
        assert verify_record(person) == []  # the masked text is what the hash and the record hold
        db.session.remove()
    page = app.test_client().get("/public/penalties").get_data(as_text=True)
    assert "110101********1234" in page and "110101199001011234" not in page and "13812345678" not in page
    feed = app.test_client().get("/public/penalties.json?party=张三").get_json()
    assert [i["party"] for i in feed["items"]] == ["张三（身份证110101********1234，电话138****5678）"]
