"""Every DMN hit policy and COLLECT aggregation, what each writes into the case data, and what is refused
at deploy (engine/definitions/hitpolicy.py, dmnpolicy.py, dmncheck.py); FEEL in decision tables; DMN
1.1-1.5 namespaces (dmnversions.py).

The expected results follow the DMN 1.3 specification's description of the hit policies (§8.2.11)
and the shape of its examples (a risk rating whose output values list gives the priority; points
added up by COLLECT SUM), on tables written here.
"""

from __future__ import annotations

import re

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.definitions.hitpolicy import HitPolicyEngine
from engine.definitions.parse import BundleParser
from tests.support.dmn_tables import decide, fake_task, problems_of, stored_engine, table

# ------------------------------------------------------------------------------ a risk rating (PRIORITY, OUTPUT ORDER …)
# Three rules can match together, and their order differs from the priority order High > Medium > Low.
RISK_RULES = [
    ([">= 18", "-"], ['"Low"']),
    (["-", '"bad"'], ['"Medium"']),
    ([">= 65", '"bad"'], ['"High"']),
]
RISK_INPUTS = [("年龄", "age"), ("病史", "history")]
RISK_VALUES = '"High","Medium","Low"'


def risk(policy: str, aggregation: str | None = None) -> str:
    return table(policy, RISK_INPUTS, [("risk", RISK_VALUES)], RISK_RULES, aggregation=aggregation)


@pytest.mark.parametrize(("policy", "age", "history", "written"), [
    ("PRIORITY", 70, "bad", {"risk": "High"}),  # rules 1, 2, 3 match: the highest priority wins, not the first rule
    ("PRIORITY", 30, "bad", {"risk": "Medium"}),
    ("PRIORITY", 30, "good", {"risk": "Low"}),
    ("PRIORITY", 10, "good", {}),  # no match: nothing written
    ("FIRST", 70, "bad", {"risk": "Low"}),
    ("OUTPUT ORDER", 70, "bad", {"risk": ["High", "Medium", "Low"]}),
    ("OUTPUT ORDER", 30, "bad", {"risk": ["Medium", "Low"]}),
    ("OUTPUT ORDER", 10, "good", {"risk": []}),
    ("RULE ORDER", 70, "bad", {"risk": ["Low", "Medium", "High"]}),
    ("COLLECT", 70, "bad", {"risk": ["Low", "Medium", "High"]}),
    ("COLLECT", 10, "good", {"risk": []}),
])
def test_single_and_multiple_hit_policies(policy, age, history, written):
    assert decide(risk(policy), age=age, history=history) == written


def test_spiffworkflows_own_engine_gets_priority_and_output_order_wrong():
    """Why HitPolicyEngine exists: SpiffWorkflow's engine returns the first match for both."""
    for policy in ("PRIORITY", "OUTPUT ORDER"):
        parser = BundleParser()
        parser.add_dmn_xml(etree.fromstring(risk(policy).encode()), "t.dmn")
        table_ = parser.get_engine("d", None).decision_table
        plain = DMNEngine(table_)
        plain.decision_table.rules.sort(key=lambda r: r.row_number)  # the order the designer wrote
        assert plain.result(fake_task(age=70, history="bad")) == {"risk": "Low"}


def test_priority_stops_at_the_highest_priority_match():
    """As FIRST does: a lower-priority rule that cannot read the input is never evaluated."""
    dmn = table("PRIORITY", [("fine", "fine")], [("size", '"none","big"')], [([">= 10000"], ['"big"']), (["? is None"], ['"none"'])])
    assert decide(dmn, fine=None) == {"size": "none"}
    assert decide(dmn, fine=20000) == {"size": "big"}


def test_priority_ties_go_to_the_earlier_rule_and_errors_name_the_written_row():
    rules = [(["> 0"], ['"Medium"', '"first"']), (["> 5"], ['"Medium"', '"second"']), (["> 100"], ['"High"', '"third"'])]
    dmn = table("PRIORITY", [("x", "x")], [("level", '"High","Medium"'), ("note", None)], rules)
    assert decide(dmn, x=10) == {"level": "Medium", "note": "first"}
    assert decide(dmn, x=200) == {"level": "High", "note": "third"}
    broken = table("PRIORITY", [("x", "x")], [("level", '"High","Medium"')],
                   [(["> 0"], ['"Medium"']), (["? > undefined_value"], ['"High"'])])
    with pytest.raises(WorkflowTaskException) as err:
        decide(broken, x=1)  # the "High" rule is evaluated first, and is still called row 2
    assert "row 2" in str(err.value)


# ------------------------------------------------------------------------------ points (COLLECT SUM, MIN, MAX, COUNT)
POINT_RULES = [
    (["-", "-"], ["22"]),
    (["< 18", "-"], ["5"]),
    ([">= 60", "-"], ["5"]),
    (["-", ">= 30"], ["5"]),
    (["18 <= ? < 60", ">= 15"], ["2"]),
    ([">= 60", "-"], ["3"]),
]
POINT_INPUTS = [("年龄", "age"), ("工龄", "years")]


@pytest.mark.parametrize(("age", "years", "total", "smallest", "largest", "count"), [
    (16, 1, 27, 5, 22, 2),
    (30, 20, 24, 2, 22, 2),
    (61, 31, 35, 3, 22, 4),
    (45, 30, 29, 2, 22, 3),
])
def test_collect_aggregations_write_one_value_under_the_output_name(age, years, total, smallest, largest, count):
    results = {aggregation: decide(table("COLLECT", POINT_INPUTS, [("points", None)], POINT_RULES, aggregation=aggregation),
                                   age=age, years=years)
               for aggregation in ("SUM", "MIN", "MAX", "COUNT")}
    assert results == {"SUM": {"points": total}, "MIN": {"points": smallest}, "MAX": {"points": largest}, "COUNT": {"points": count}}


def test_aggregations_when_no_rule_matches_and_with_empty_cells():
    rules = [([">= 60"], ["5"]), ([">= 70"], [""])]  # an empty output cell is no value
    for aggregation, none_matched, one_empty in (("SUM", None, 5), ("MIN", None, 5), ("MAX", None, 5), ("COUNT", 0, 1)):
        dmn = table("COLLECT", [("年龄", "age")], [("points", None)], rules, aggregation=aggregation)
        assert decide(dmn, age=10) == {"points": none_matched}
        assert decide(dmn, age=75) == {"points": one_empty}


def test_collect_with_several_and_dotted_outputs_writes_parallel_lists():
    rules = [(["> 0"], ['"a"', "1"]), (["> 5"], ['"b"', "2"]), (["> 50"], ['"c"', "3"])]
    dmn = table("RULE ORDER", [("x", "x")], [("result.code", None), ("result.points", None)], rules)
    assert decide(dmn, x=10) == {"result": {"code": ["a", "b"], "points": [1, 2]}}


def test_any_returns_the_agreed_output_and_stops_on_disagreement():
    agreeing = table("ANY", [("年龄", "age"), ("会员", "member")], [("eligible", None)],
                     [([">= 18", "-"], ['"yes"']), (["-", "True"], ['"yes"']), (["< 18", "False"], ['"no"'])])
    assert decide(agreeing, age=20, member=True) == {"eligible": "yes"}
    assert decide(agreeing, age=10, member=False) == {"eligible": "no"}
    disagreeing = table("ANY", [("年龄", "age")], [("group", None)], [([">= 18"], ['"adult"']), ([">= 65"], ['"senior"'])])
    assert decide(disagreeing, age=30) == {"group": "adult"}
    with pytest.raises(WorkflowTaskException, match="ANY.*1, 2"):
        decide(disagreeing, age=70)


def test_the_stored_spec_a_case_runs_on_keeps_the_priority_order_and_the_aggregation(ctx):
    engine = stored_engine(risk("PRIORITY"))
    assert type(engine) is HitPolicyEngine
    assert engine.result(fake_task(age=70, history="bad")) == {"risk": "High"}
    assert [r.row_number for r in engine.decision_table.rules] == [3, 2, 1]
    engine = stored_engine(table("COLLECT", POINT_INPUTS, [("points", None)], POINT_RULES, aggregation="SUM"))
    assert engine.result(fake_task(age=61, years=31)) == {"points": 35}


# ------------------------------------------------------------------------------ refused at deploy
def messages(problems, element=None) -> str:
    return "\n".join(p.message for p in problems if element is None or p.element == element)


def test_every_policy_of_the_examples_deploys(ctx):
    for policy in ("UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"):
        rules = RISK_RULES if policy not in ("UNIQUE", "ANY") else [(["< 18", "-"], ['"Low"']), ([">= 18", "-"], ['"High"'])]
        assert problems_of(table(policy, RISK_INPUTS, [("risk", RISK_VALUES)], rules)) == [], policy
    for aggregation in ("SUM", "MIN", "MAX", "COUNT"):
        assert problems_of(table("COLLECT", POINT_INPUTS, [("points", None)], POINT_RULES, aggregation=aggregation)) == []


def test_priority_and_output_order_need_output_values(ctx):
    for policy in ("PRIORITY", "OUTPUT ORDER"):
        [problem] = problems_of(table(policy, RISK_INPUTS, [("risk", None)], RISK_RULES))
        assert problem.element == "table" and problem.file == "processes/t.dmn" and problem.line == 4
        assert f"命中策略 {policy} 按输出值的优先级排序" in problem.message and "<outputValues>" in problem.message


def test_a_priority_rule_whose_output_is_not_listed_is_refused(ctx):
    rules = [*RISK_RULES, (["< 18", "-"], ['"Unknown"'])]
    [problem] = problems_of(table("PRIORITY", RISK_INPUTS, [("risk", RISK_VALUES)], rules))
    assert problem.element == "rule4" and "'Unknown'" not in problem.message and '"Unknown"' in problem.message
    assert "不在其输出值列表 'High', 'Medium', 'Low' 中" in problem.message


def test_aggregations_are_refused_where_they_cannot_run(ctx):
    [problem] = problems_of(table("FIRST", POINT_INPUTS, [("points", None)], POINT_RULES, aggregation="SUM"))
    assert "只能与命中策略 COLLECT 一起使用" in problem.message and problem.element == "table"
    two = table("COLLECT", [("x", "x")], [("a", None), ("b", None)], [(["> 0"], ["1", "2"])], aggregation="MAX")
    [problem] = problems_of(two)
    assert "只能有一个输出列（现有 2 个）" in problem.message
    words = table("COLLECT", [("x", "x")], [("a", None)], [(["> 0"], ["1"]), (["> 1"], ['"two"'])], aggregation="SUM")
    [problem] = problems_of(words)
    assert problem.element == "rule2" and "不是数字" in problem.message


def test_an_output_without_a_usable_name_is_refused(ctx):
    [problem] = problems_of(table("COLLECT", [("x", "x")], [(None, None)], [(["> 0"], ["1"])], aggregation="SUM"))
    assert problem.element == "out0" and 'name="' in problem.message and "没有名称" in problem.message


def test_an_any_table_whose_overlapping_rules_disagree_is_refused_with_the_input(ctx):
    disagreeing = table("ANY", [("年龄", "age")], [("group", None)], [([">= 18"], ['"adult"']), ([">= 65"], ['"senior"'])])
    [problem] = problems_of(disagreeing)
    assert problem.element == "rule2" and "年龄 = 65" in problem.message and "输出不同" in problem.message


# ------------------------------------------------------------------------------ FEEL in decision tables
@pytest.mark.parametrize(("cell", "python"), [
    ("true", "True"),
    ("null", "None"),
    ('"a","b"', '? in ("a", "b")'),
    ('not("a")', '? != "a"'),
    ('not("a", "b")', '? not in ("a", "b")'),
    ("[5..8]", "5 <= ? <= 8"),
    ("(5..8]", "5 < ? <= 8"),
    ("]5..8[", "5 < ? < 8"),
    ("< 5, > 10", "? < 5 or ? > 10"),
    ('date("2020-01-01")', 'parse_date("2020-01-01")'),
    ("${x > 5}", "? > 5"),
])
def test_feel_input_cells_are_refused_with_the_python_to_write(ctx, cell, python):
    dmn = table("FIRST", [("x", "x")], [("r", None)], [([cell], ["1"]), (["-"], ["0"])])
    problems = problems_of(dmn)
    [problem] = [p for p in problems if p.element == "rule1"]
    assert problem.kind == "expression" and problem.file == "processes/t.dmn"
    assert problem.line == dmn.splitlines().index(next(line for line in dmn.splitlines() if 'id="r1i0"' in line)) + 1
    assert f"请写成 `{python}`" in problem.message and cell in problem.message
    assert "syntax error" not in messages(problems)  # the bare syntax error for the same rule gives way
    written = table("FIRST", [("x", "x")], [("r", None)], [([python], ["1"]), (["-"], ["0"])])
    assert problems_of(written) == []  # and the Python offered deploys


def test_feel_cells_would_otherwise_match_wrongly_or_fail():
    """What the refusal prevents: SpiffWorkflow reads these FEEL cells as Python that means something else."""
    listed = table("FIRST", [("kind", "kind")], [("r", None)], [(['"a","b"'], ["1"]), (["-"], ["0"])])
    assert decide(listed, kind="a") == {"r": 0}  # ("a" == ("a", "b")) is False: the wrong rule decides
    negated = table("FIRST", [("kind", "kind")], [("r", None)], [(['not("a")'], ["1"]), (["-"], ["0"])])
    assert decide(negated, kind="b") == {"r": 0}  # ("b" == (not "a")) is False
    with pytest.raises(WorkflowTaskException, match="true"):
        decide(table("FIRST", [("ok", "ok")], [("r", None)], [(["true"], ["1"])]), ok=True)


def test_feel_output_cells_are_refused(ctx):
    problems = problems_of(table("FIRST", [("x", "x")], [("r", None)], [(["-"], ["null"])]))
    assert "决策表输出单元格 `null`" in messages(problems, "rule1") and "请写成 `None`" in messages(problems, "rule1")


def test_python_cells_are_not_taken_for_feel(ctx):
    cells = ['"citizen"', ">= 10000", "0 < ? <= 200", '? in ("general", "minor")', "True", "? is not None and ? != 'x'", "x_limit"]
    rules = [([c], [str(i)]) for i, c in enumerate(cells)]
    assert problems_of(table("FIRST", [("x", "x")], [("r", None)], rules)) == []


# ------------------------------------------------------------------------------ DMN versions
UNIQUE_RULES = [(["< 18"], ['"minor"']), ([">= 18"], ['"adult"'])]
VERSIONS = {
    "1.1": "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "1.2": "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "1.3": "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "1.4": "https://www.omg.org/spec/DMN/20211108/MODEL/",
    "1.5": "https://www.omg.org/spec/DMN/20230324/MODEL/",
}


@pytest.mark.parametrize("version", sorted(VERSIONS))
def test_dmn_versions_1_1_to_1_5_deploy_and_decide(ctx, version):
    dmn = table("UNIQUE", [("年龄", "age")], [("group", None)], UNIQUE_RULES, namespace=VERSIONS[version])
    assert problems_of(dmn) == []
    assert decide(dmn, age=30) == {"group": "adult"}


@pytest.mark.parametrize("version", ["1.4", "1.5"])
def test_a_dmn_1_4_or_1_5_file_is_checked_against_the_schema_at_its_own_lines(ctx, version):
    # A diagram in a namespace the 1.3 schema does not know is left out of the check: it only draws the table.
    diagram = ('<dmndi:DMNDI xmlns:dmndi="https://www.omg.org/spec/DMN/20230324/DMNDI/"><dmndi:DMNDiagram id="diagram"/>'
               "</dmndi:DMNDI>\n</definitions>")
    bogus = table("UNIQUE", [("年龄", "age")], [("group", None)], UNIQUE_RULES, namespace=VERSIONS[version],
                  extra="<bogus/>").replace("</definitions>", diagram)
    problems = problems_of(bogus)
    assert [p.kind for p in problems] == ["xsd"]
    assert problems[0].line == bogus.splitlines().index(next(line for line in bogus.splitlines() if "<bogus/>" in line)) + 1
    # Named as the designer's XML names it (dmn:bogus), never by the 1.3 namespace the file was checked under.
    assert "dmn:bogus" in problems[0].message and VERSIONS["1.3"] not in problems[0].message


def test_an_unknown_dmn_namespace_names_the_supported_versions(ctx):
    [problem] = problems_of(table("UNIQUE", [("年龄", "age")], [("group", None)], UNIQUE_RULES, namespace="http://example.com/dmn/2"))
    assert problem.kind == "xsd" and problem.file == "processes/t.dmn" and problem.line == 2
    assert "http://example.com/dmn/2" in problem.message
    for version, namespace in VERSIONS.items():
        assert f"DMN {version}（{namespace}）" in problem.message


def test_a_dmn_file_whose_elements_carry_a_prefix_is_read(ctx):
    """The DMN TCK and Signavio write <semantic:definitions>; SpiffWorkflow only knew the prefix "dmn"."""
    dmn = table("UNIQUE", [("年龄", "age")], [("group", None)], UNIQUE_RULES).replace(f'xmlns="{VERSIONS["1.3"]}"',
                                                                                    f'xmlns:semantic="{VERSIONS["1.3"]}"')
    dmn = re.sub(r"<(/?)(?=[a-zA-Z])", r"<\1semantic:", dmn)
    assert "<semantic:decisionTable" in dmn
    assert problems_of(dmn) == []
    assert decide(dmn, age=10) == {"group": "minor"}
