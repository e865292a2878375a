"""Decision tables: the hit policies zhifa runs, and the hearing-eligibility rules (issue 13, item 8).

- The shipped tables rely on their first matching rule (a catch-all comes last) and say so: FIRST.
- FIRST is honoured (engine/definitions/hitpolicy.py): the first match decides and later rules are not
  evaluated, at deploy-time parsing and in every workflow built from stored specs.
- A UNIQUE table whose rules overlap, or a hit policy zhifa does not run, is refused at deploy
  (engine/definitions/dmncheck.py), naming the two rules and an input on which both match.
- 听证 (法 Art. 63): "其他较重的行政处罚" and confiscation of ≥100,000 元 from an organization.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.definitions import Bundle, BundleFile
from engine.definitions.deploy import validate_bundle
from engine.definitions.hitpolicy import HitPolicyEngine
from engine.definitions.parse import BundleParser
from engine.definitions.specs import active_spec, load_specs
from engine.expressions import make_script_engine
from tests.conftest import DATA, ROOT, deploy_dir
from tests.support.decided_penalty import notice, to_report
from tests.support.driver import run  # noqa: F401  (the scenario fixture)
from tests.support.scenarios import CITIZEN, COMPANY

PROCESSES = ROOT / "processes"
DMN_NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
HEARING = PROCESSES / "hearing_eligibility.dmn"


def decide(dmn: Path | bytes, decision_id: str, engine: type = HitPolicyEngine, **data) -> dict:
    """The outputs of one decision table for ``data``, evaluated as a business rule task would."""
    parser = BundleParser()
    if isinstance(dmn, Path):
        parser.add_dmn_files([str(dmn)])
    else:
        parser.add_dmn_xml(etree.fromstring(dmn), "test.dmn")
    built = parser.get_engine(decision_id, None)
    assert type(built) is HitPolicyEngine  # what business rule tasks of a parsed bundle get
    table = built.decision_table
    task = SimpleNamespace(data=data, workflow=SimpleNamespace(script_engine=make_script_engine()), task_spec=None)
    return engine(table).result(task)


# ------------------------------------------------------------------------------ FIRST
@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.dmn")), ids=lambda p: p.stem)
def test_shipped_tables_that_rely_on_the_first_match_declare_first(path):
    doc = etree.parse(str(path))
    [table] = doc.findall(".//dmn:decisionTable", DMN_NS)
    assert table.get("hitPolicy") == "FIRST"
    last = table.findall("dmn:rule", DMN_NS)[-1]
    assert all(e.findtext("dmn:text", namespaces=DMN_NS).strip() == "-" for e in last.findall("dmn:inputEntry", DMN_NS))


FIRST_TABLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="t" namespace="http://zhifa.test/first">
  <decision id="first_match" name="first match">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="in_fine" label="fine"><inputExpression id="e" typeRef="number"><text>fine</text></inputExpression></input>
      <output id="out" label="size" name="size" typeRef="string"/>
      <rule id="r_none"><inputEntry id="i1"><text>? is None</text></inputEntry><outputEntry id="o1"><text>"none"</text></outputEntry></rule>
      <rule id="r_big"><inputEntry id="i2"><text>&gt;= 10000</text></inputEntry><outputEntry id="o2"><text>"big"</text></outputEntry></rule>
      <rule id="r_any"><inputEntry id="i3"><text>-</text></inputEntry><outputEntry id="o3"><text>"small"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def test_first_stops_at_the_first_matching_rule():
    assert decide(FIRST_TABLE, "first_match", fine=20000) == {"size": "big"}
    assert decide(FIRST_TABLE, "first_match", fine=5) == {"size": "small"}
    # No fine at all: rule 1 decides, and rule 2 (which cannot compare None) is never evaluated.
    assert decide(FIRST_TABLE, "first_match", fine=None) == {"size": "none"}
    with pytest.raises(Exception, match="NoneType"):  # SpiffWorkflow's own engine evaluates every rule
        decide(FIRST_TABLE, "first_match", engine=DMNEngine, fine=None)


def test_workflows_built_from_stored_specs_honour_first(ctx):
    deploy_dir(ROOT)
    spec, subprocess_specs = load_specs(active_spec("ordinary").id)
    engines = [ts.dmnEngine for s in (spec, *subprocess_specs.values()) for ts in s.task_specs.values()
               if hasattr(ts, "dmnEngine")]
    assert len(engines) >= 7  # benchmark, review, hearing, collective, and the three re-checks of the decision
    assert all(type(e) is HitPolicyEngine and e.decision_table.hit_policy == "FIRST" for e in engines)


# ------------------------------------------------------------------------------ refused at deploy
def upload(api, name: str, content: bytes) -> tuple[int, dict]:
    designer = api("designer")
    r = designer.client.post("/api/v1/deployments", headers=designer.headers, content_type="multipart/form-data",
                             data={"files": [(io.BytesIO(content), name)], "comment": "决策表"})
    return r.status_code, r.get_json()


def test_a_unique_table_whose_rules_overlap_is_refused_naming_both_rules_and_the_input(api, ctx):
    deploy_dir(ROOT)
    content = HEARING.read_bytes().replace(b'hitPolicy="FIRST"', b'hitPolicy="UNIQUE"')
    status, body = upload(api, "hearing_eligibility.dmn", content)
    assert status == 422 and body["error"] == "deployment_invalid"
    problems = [d for d in body["details"] if d["element"] == "Rule_hearing_eligibility_2"]
    assert problems and problems[0]["file"] == "processes/hearing_eligibility.dmn"
    message = problems[0]["message"]
    assert "规则 1（降低资质等级、吊销许可证件、责令停产停业、责令关闭、限制从业）与规则 2（对公民罚款一万元以上）重叠" in message
    assert "处罚种类 = 'licence_revocation'、当事人类型 = 'citizen'、拟罚款数额（元） = 10000" in message
    assert "FIRST" in message
    line = content[: content.index(b'id="Rule_hearing_eligibility_2"')].count(b"\n") + 1
    assert problems[0]["line"] == line
    # The catch-all rule overlaps every other rule: ten pairs are named, the rest counted.
    assert sum("重叠：当" in d["message"] for d in body["details"]) == 10
    assert any("另有 7 处规则重叠未逐一列出" in d["message"] for d in body["details"])


def test_a_unique_table_with_disjoint_rules_deploys_and_one_overlapping_at_a_boundary_does_not(ctx, mini):
    mini_dmn = DATA / "mini" / "processes" / "mini_review_required.dmn"
    bundle = Bundle.from_directories(DATA / "mini" / "processes", DATA / "mini" / "forms")
    assert validate_bundle(bundle)[1] == []  # ">= 10000" and "< 10000": disjoint
    overlapping = mini_dmn.read_text(encoding="utf-8").replace("&lt; 10000", "&lt;= 10000")
    problems = validate_bundle(bundle.replace([BundleFile("processes/mini_review_required.dmn",
                                                          overlapping.encode("utf-8"))]))[1]
    [problem] = problems
    assert problem.element == "rule_small" and "拟罚款 = 10000" in problem.message


def test_an_any_table_whose_overlapping_rules_disagree_is_refused(api, ctx):
    # Every policy runs now (tests/test_dmn_policies.py); ANY still refuses rules that match together and disagree.
    deploy_dir(ROOT)
    status, body = upload(api, "hearing_eligibility.dmn", HEARING.read_bytes().replace(b'hitPolicy="FIRST"', b'hitPolicy="ANY"'))
    assert status == 422
    problem = next(d for d in body["details"] if d["element"] == "Rule_hearing_eligibility_2")
    assert "命中策略为 ANY" in problem["message"] and "输出不同" in problem["message"] and "FIRST" in problem["message"]


# ------------------------------------------------------------------------------ hearing eligibility (法 Art. 63)
@pytest.mark.parametrize(("party_type", "kind", "fine", "confiscation", "eligible", "reason"), [
    ("organization", "confiscation", 0, 100000, True, "没收法人或者其他组织十万元以上违法所得或者非法财物"),
    ("organization", "confiscation", 0, 99999.99, False, "不属于听证范围"),
    ("citizen", "confiscation", 0, 10000, True, "没收公民一万元以上违法所得或者非法财物"),
    ("citizen", "confiscation", 0, 9999.99, False, "不属于听证范围"),
    ("organization", "fine", 100000, 0, True, "对法人或者其他组织处以十万元以上罚款"),
    ("organization", "fine", 99999.99, 0, False, "不属于听证范围"),
    ("citizen", "qualification_lowering", 0, 0, True, "降低资质等级、吊销许可证件、责令停产停业、责令关闭或者限制从业"),
    ("organization", "other", 0, 0, True, "其他较重的行政处罚"),
    ("citizen", "other", 500, 0, True, "其他较重的行政处罚"),
    ("citizen", "warning", 0, 0, False, "不属于听证范围"),
    ("citizen", "none", 0, 0, False, "不属于听证范围"),
])
def test_hearing_eligibility(party_type, kind, fine, confiscation, eligible, reason):
    result = decide(HEARING, "hearing_eligibility", penalty_kind=kind, party_type=party_type, proposed_fine=fine,
                    confiscation_amount=confiscation)
    assert result == {"hearing_eligible": eligible, "hearing_eligibility_reason": reason}


def test_confiscating_100000_from_an_organization_offers_a_hearing(run):  # noqa: F811
    to_report(run, COMPANY, kind="confiscation", fine=0, confiscation_amount=100000, proposed_penalty="没收违法所得100000元")
    run.complete("notify_party", "a_handler1", notice("没收违法所得100000元", 0, hearing=True))
    assert run.ready() == ["record_hearing_request"]


def test_another_heavy_penalty_offers_a_hearing(run):  # noqa: F811
    to_report(run, CITIZEN, kind="other", fine=0, proposed_penalty="暂扣许可证件三个月")
    run.complete("notify_party", "a_handler1", notice("暂扣许可证件三个月", 0, hearing=True))
    assert run.ready() == ["record_hearing_request"]
    assert run.data["hearing_eligibility_reason"] == "其他较重的行政处罚"
