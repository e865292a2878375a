"""docs/procedures.md and the BPMN never drift: every user task is documented with its id, name, role
and time limit, and the document lists no task the procedure does not have."""

from __future__ import annotations

import re

from SpiffWorkflow.spiff.specs.defaults import UserTask

from tests.support.library import ROOT, parse_library

DOC = ROOT / "docs" / "procedures.md"
ROW = re.compile(r"^\| `(\w+)` \| ([^|]+?) \| (\w+) \| (\w+) \| ([^|]+?) \|$")


def documented() -> dict[str, set[tuple[str, str, str, str]]]:
    tables: dict[str, set[tuple[str, str, str, str]]] = {}
    process = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            process = None
        elif found := re.match(r"^Process id: `(\w+)`", line):
            process = found.group(1)
            tables[process] = set()
        elif process and (row := ROW.match(line)):
            tables[process].add(row.groups()[:4])
    return tables


def modelled() -> dict[str, set[tuple[str, str, str, str]]]:
    parser = parse_library()
    tables = {}
    for pid in parser.get_process_ids():
        tables[pid] = {
            (ts.bpmn_id, ts.bpmn_name, ts.lane, ts.extensions["properties"]["time_limit"])
            for ts in parser.get_spec(pid).task_specs.values() if isinstance(ts, UserTask)
        }
    return tables


def test_every_procedure_is_documented_with_exactly_its_user_tasks():
    doc, bpmn = documented(), modelled()
    assert set(doc) == set(bpmn)
    for pid in bpmn:
        assert bpmn[pid] - doc[pid] == set(), f"{pid}: tasks missing from docs/procedures.md"
        assert doc[pid] - bpmn[pid] == set(), f"{pid}: documented tasks the BPMN does not have"


def test_every_decision_table_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for dmn in (ROOT / "processes").glob("*.dmn"):
        assert f"| `{dmn.stem}` |" in text, dmn.stem
