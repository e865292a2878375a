"""A designer's new procedure goes live through the API alone, with no code change.

``tests/data/e2e`` holds a procedure zhifa does not ship (安全隐患整改复查): role lanes (handler,
agency_head), user tasks with their JSON Schema forms, a DMN decision whose cells are Python
expressions, and a timer ``deadline('commitment_rectification', ordered_on)`` computed from a date the
handler records. The designer uploads it (multipart, as the designer page does), an officer starts a
case, officers work it using only the fields of the form schemas the API returns, the administrator
moves time on with ``POST /tick``, and the case closes. A broken version is refused, naming the
element, and the version already deployed stays the one new cases start on.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA

E2E = DATA / "e2e"
PROCESS = "e2e_safety_recheck"
BPMN = E2E / "processes" / "e2e_safety_recheck.bpmn"
PARTY = {"type": "organization", "name": "某某化工有限公司", "id_number": "91110000123456789X"}
ORDERED_ON = "2026-03-02"
# What an officer would type, by field name; a form field missing here fails the test loudly.
ANSWERS: dict[str, Any] = {
    "findings": "危化品仓库未设置防爆照明",
    "hazard_level": "major",
    "days_granted": 10,
    "ordered_on": ORDERED_ON,
    "approved": True,
    "opinion": "同意限期整改",
    "rectified": True,
    "recheck_note": "已更换防爆灯具，整改到位",
}


def bundle_files() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted((E2E / "processes").iterdir()) + sorted((E2E / "forms").iterdir())]


def upload(api_client: Any, files: list[tuple[str, bytes]], comment: str = "") -> tuple[int, Any]:
    r = api_client.client.post(
        "/api/v1/deployments", headers=api_client.headers, content_type="multipart/form-data",
        data={"files": [(io.BytesIO(content), name) for name, content in files], "comment": comment},
    )
    return r.status_code, r.get_json()


def fill(schema: dict[str, Any]) -> dict[str, Any]:
    """Form data built from the returned schema's own fields, every required one included."""
    data = {name: ANSWERS[name] for name in schema["properties"]}
    assert set(schema.get("required", [])) <= set(data)
    return data


def work_next_task(client: Any, expected_name: str) -> dict[str, Any]:
    [item] = client.get("/tasks", scope="available")[1]["items"]
    status, task = client.get(f"/tasks/{item['id']}")
    assert status == 200 and task["name"] == expected_name, task
    assert client.post(f"/tasks/{item['id']}/claim")[0] == 200
    status, done = client.post(f"/tasks/{item['id']}/complete", {"data": fill(task["form_schema"]), "version": task["version"]})
    assert status == 200, done
    return done


def start_case(api: Any) -> dict[str, Any]:
    status, case = api("a_handler1").post("/cases", {"procedure": PROCESS, "party": PARTY})
    assert status == 201, case
    return case


@pytest.fixture
def deployed(api: Any) -> int:
    status, body = upload(api("designer"), bundle_files(), comment="新增安全隐患整改复查程序")
    assert status == 201, body
    assert body["active"][PROCESS] == body["id"]
    return body["id"]


def test_designer_deploys_a_new_procedure_and_a_case_runs_through_it_to_closure(api, deployed, frozen):
    handler, chief, admin = api("a_handler1"), api("a_chief"), api("admin")
    case = start_case(api)
    assert case["instances"][0]["deployment"] == deployed
    assert [t["name"] for t in case["tasks"] if t["status"] == "open"] == ["现场检查并责令整改"]

    work_next_task(handler, "现场检查并责令整改")
    # The DMN decision (hazard_level "major") sent the case to the agency head.
    work_next_task(chief, "负责人审批整改措施")

    # The timer waits for the rectification period counted from the recorded ordered_on date.
    limit = admin.get("/time-limits/commitment_rectification")[1]
    expected = admin.get("/calendar/deadline", start=ORDERED_ON, amount=limit["amount"], unit=limit["unit"])[1]["deadline"]
    [instance] = handler.get(f"/cases/{case['id']}")[1]["instances"]
    assert instance["next_timer_at"] == expected
    assert handler.get("/tasks", scope="available")[1]["items"] == []

    due = dt.datetime.fromisoformat(expected)
    frozen.set(due - dt.timedelta(minutes=1))
    assert not admin.post("/tick", {"now": (due - dt.timedelta(minutes=1)).isoformat()})[1]["fired"]
    frozen.set(due + dt.timedelta(minutes=1))
    status, ticked = admin.post("/tick", {"now": (due + dt.timedelta(minutes=1)).isoformat()})
    assert status == 200 and ticked["fired"]

    done = work_next_task(handler, "整改复查")
    assert done["case"]["status"] == "closed" and done["case"]["id"] == case["id"]
    status, closed = handler.get(f"/cases/{case['id']}")
    assert closed["status"] == "closed" and closed["instances"][0]["status"] != "waiting"


@pytest.mark.parametrize(("old", "new", "element"), [
    # An expression calling a forbidden function, where the designer wrote it (the timer event).
    ("deadline('commitment_rectification', ordered_on)", "__import__('os').system('id')", "rectification_due"),
    # A reference to a form that is not in the bundle.
    ('name="form" value="e2e_recheck"', 'name="form" value="e2e_missing_form"', "recheck"),
])
def test_broken_version_is_refused_naming_the_element_and_the_deployed_version_stays(api, deployed, frozen, old, new, element):
    designer = api("designer")
    text = BPMN.read_text(encoding="utf-8")
    assert text.count(old) == 1
    broken = text.replace(old, new)
    status, body = upload(designer, [(BPMN.name, broken.encode("utf-8"))], comment="有问题的版本")
    assert 400 <= status < 500 and body["error"] == "deployment_invalid", body
    problem = next(p for p in body["details"] if p["element"] == element)
    assert problem["file"] == "processes/e2e_safety_recheck.bpmn"
    assert problem["line"] == broken[: broken.index(f'id="{element}"')].count("\n") + 1

    status, listing = designer.get("/deployments")
    assert [d["id"] for d in listing["items"]] == [deployed] and listing["active"][PROCESS] == deployed
    case = start_case(api)
    assert case["instances"][0]["deployment"] == deployed


def test_e2e_bundle_is_not_a_shipped_procedure():
    shipped = {p.name for p in (Path(__file__).parent.parent / "processes").iterdir()}
    assert not shipped & {p.name for p in (E2E / "processes").iterdir()}
