"""执法文书: generated on completion, numbered without gaps, stored immutably, printable, PDF."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from engine.casefile.verify import verify_record
from engine.documents import set_document_type, verify_documents
from engine.documents.pdf import render_pdf
from engine.models import Document, Task, db
from engine.record import audit
from engine.runtime import complete_task, start_case
from tests.conftest import at_once, user
from tests.support.documents import DECISION, deploy_documents
from tests.support.web import logged_in, page_csrf


@pytest.fixture
def docs_bundle(app) -> int:
    return deploy_documents(app)


def _case(party: str = "张三", id_number: str = "110101199001011234"):
    case = start_case(user("a_handler1"), "doc_test", {"party_type": "citizen", "party_name": party, "party_id_number": id_number},
                      {"violation": "销售过期食品"})
    task_id = db.session.scalars(select(Task.id).where(Task.case_id == case.id, Task.status == "open")).one()
    return case, task_id


def _documents(case_id: int | None = None, receipts: bool = False) -> list[Document]:
    """The case's (or all) documents; the 送达回证 issued with each served document only when asked."""
    query = select(Document).order_by(Document.id)
    if not receipts:
        query = query.where(Document.doc_type != "送达回证")
    if case_id is not None:
        query = query.where(Document.case_id == case_id)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def test_completing_a_task_issues_its_numbered_document(ctx, people, docs_bundle, frozen):
    case, task_id = _case()
    complete_task(user("a_handler1"), task_id, DECISION)
    [doc] = _documents(case.id)
    assert doc.doc_type == "行政处罚决定书"
    assert doc.number == "X市监处罚〔2026〕1号"
    content = doc.content
    for expected in ("行政处罚决定书", "X市监处罚〔2026〕1号", "张三", "1101**********1234", "罚款人民币5,000元",
                     "六十日内向X市人民政府申请行政复议", "六个月内向X市某区人民法院提起行政诉讼", "食品安全法", "2026年3月2日"):
        assert expected in content, expected
    assert "110101199001011234" not in content and "110101199001011234" not in str(doc.data)
    assert doc.data["form"]["decided_fine"] == 5000
    [receipt] = [d for d in _documents(case.id, receipts=True) if d.doc_type == "送达回证"]  # printed with it
    assert receipt.serves_id == doc.id and doc.number in receipt.content
    events = [e for e in db.session.scalars(select(audit.AuditEvent).where(audit.AuditEvent.case_id == case.id))
              if e.action == "document.issued"]
    assert [e.data["sha256"] for e in events] == [doc.sha256, receipt.sha256]
    assert verify_record(case.id) == []


def test_document_content_is_escaped(ctx, people, docs_bundle, frozen):
    case, task_id = _case(party="<script>alert(1)</script>")
    complete_task(user("a_handler1"), task_id, {**DECISION, "facts_found": "<b>粗体</b>"})
    [doc] = _documents(case.id)
    assert "<script>" not in doc.content and "&lt;script&gt;" in doc.content
    assert "<b>粗体</b>" not in doc.content


def test_unknown_document_type_uses_generic_template_and_its_name_as_code(ctx, people, docs_bundle, frozen):
    case, task_id = _case()
    complete_task(user("a_handler1"), task_id, DECISION)
    next_id = db.session.scalars(select(Task.id).where(Task.case_id == case.id, Task.status == "open")).one()
    complete_task(user("a_handler1"), next_id, {"inspection_findings": "现场发现过期食品三箱", "witness_id_number": "110101198001015678"})
    doc = _documents(case.id)[-1]
    assert doc.number == "X市监现场检查情况说明〔2026〕1号"
    assert doc.template == "generic.html"
    assert "现场发现过期食品三箱" in doc.content and "检查情况" in doc.content
    assert "1101**********5678" in doc.content and "110101198001015678" not in doc.content


def test_number_pattern_change_applies_to_new_numbers(ctx, people, docs_bundle, frozen):
    case, task_id = _case()
    complete_task(user("a_handler1"), task_id, DECISION)
    set_document_type(user("admin"), "行政处罚决定书", "罚决", "{agency}{code}字〔{year}〕第{serial:3}号", "按省局新规范")
    case2, task2 = _case("李四")
    complete_task(user("a_handler1"), task2, DECISION)
    assert [d.number for d in _documents()] == ["X市监处罚〔2026〕1号", "X市监罚决字〔2026〕第002号"]
    changes = [e for e in db.session.scalars(select(audit.AuditEvent)) if e.action == "document_type.changed"]
    assert changes and changes[0].data["after"]["code"] == "罚决"


@pytest.mark.parametrize("pattern", ["{agency}〔{year}〕{serial}号", "{code}{serial}", "{agency}{code}{year}{serial}{x}",
                                     "{agency.__class__}"])
def test_number_pattern_must_keep_numbers_unique(ctx, people, pattern):
    from engine.errors import InvalidInput

    with pytest.raises(InvalidInput):
        set_document_type(user("admin"), "行政处罚决定书", "处罚", pattern, "试")


def test_document_code_must_not_repeat_another_type(ctx, people):
    from engine.errors import InvalidInput

    with pytest.raises(InvalidInput, match="已用于"):
        set_document_type(user("admin"), "行政处罚告知书", "处罚", "{agency}{code}〔{year}〕{serial}号", "试")


def test_tampered_document_is_reported_by_verification(app, people, docs_bundle, frozen, tmp_path):
    with app.app_context():
        case, task_id = _case()
        complete_task(user("a_handler1"), task_id, DECISION)
        case_id = case.id
        db.session.execute(text("UPDATE document SET content = REPLACE(content, '5,000', '500')"))
        db.session.commit()
        findings = verify_documents(case_id)
        assert any("content does not match" in f.problem for f in findings)
        assert verify_record(case_id) != []
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "文书" in result.output and "X市监处罚〔2026〕1号" in result.output


def test_deleted_document_is_reported_by_verification(ctx, people, docs_bundle, frozen):
    case, task_id = _case()
    complete_task(user("a_handler1"), task_id, DECISION)
    db.session.execute(text("DELETE FROM document"))
    db.session.commit()
    assert any("missing" in f.problem for f in verify_record(case.id))


def test_documents_are_never_updated(ctx, people, docs_bundle, frozen):
    case, task_id = _case()
    complete_task(user("a_handler1"), task_id, DECISION)
    [doc] = _documents(case.id)
    doc.content = "改"
    with pytest.raises(RuntimeError, match="immutable"):
        db.session.commit()
    db.session.rollback()


def test_pdf_page_shows_the_chinese_text(ctx, people, docs_bundle, frozen, tmp_path):
    import pymupdf
    case, task_id = _case()
    complete_task(user("a_handler1"), task_id, DECISION)
    [doc] = _documents(case.id)
    data = render_pdf(doc)
    pdf = pymupdf.open(stream=data, filetype="pdf")
    page = pdf[0]
    assert page.rect.width == pytest.approx(595.3, abs=1) and page.rect.height == pytest.approx(841.9, abs=1)  # A4
    page_text = page.get_text()
    assert "行政处罚决定书" in page_text and "X市监处罚〔2026〕1号" in page_text and "行政复议" in page_text
    fonts = pdf.get_page_fonts(0)
    assert fonts and all(f[1] == "ttf" and "+" in f[3] for f in fonts)  # embedded subset, not a reference
    png = Path(tmp_path) / "document-page-1.png"
    page.get_pixmap(dpi=100).save(str(png))
    assert png.stat().st_size > 10_000
    print(f"rendered page: {png}")


def test_print_view_and_pdf_are_scoped_to_the_unit(app, people, api, docs_bundle, frozen):
    with app.app_context():
        case, task_id = _case()
        complete_task(user("a_handler1"), task_id, DECISION)
        case_id, doc_id = case.id, _documents(case.id)[0].id
        db.session.remove()
    mine, other = api("a_handler2"), api("b_handler1")
    status, body = mine.get(f"/cases/{case_id}")
    assert status == 200 and [d["number"] for d in body["documents"]] == ["X市监处罚〔2026〕1号", "X市监送〔2026〕1号"]
    status, body = mine.get(f"/cases/{case_id}/documents/{doc_id}")
    assert status == 200 and "行政处罚决定书" in body["content"] and len(body["sha256"]) == 64
    r = mine.client.get(f"/api/v1/cases/{case_id}/documents/{doc_id}.pdf", headers=mine.headers)
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert other.get(f"/cases/{case_id}/documents/{doc_id}")[0] == 404
    assert other.client.get(f"/api/v1/cases/{case_id}/documents/{doc_id}.pdf", headers=other.headers).status_code == 404


def test_case_page_lists_documents_with_print_and_pdf_links(app, people, docs_bundle, frozen):
    with app.app_context():
        case, task_id = _case()
        complete_task(user("a_handler1"), task_id, DECISION)
        case_id, doc_id = case.id, _documents(case.id)[0].id
        db.session.remove()
    client = logged_in(app, "a_handler1")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"/cases/{case_id}/documents/{doc_id}" in page and "X市监处罚〔2026〕1号" in page
    view = client.get(f"/cases/{case_id}/documents/{doc_id}")
    assert view.status_code == 200
    html = view.get_data(as_text=True)
    assert "@page { size: A4" in html and "罚款人民币5,000元" in html
    assert client.get(f"/cases/{case_id}/documents/{doc_id}.pdf").data.startswith(b"%PDF")


THREADS = 50


def test_fifty_concurrent_completions_get_fifty_consecutive_numbers(app, people, docs_bundle, frozen):
    with app.app_context():
        task_ids = [_case(f"当事人{i}")[1] for i in range(THREADS)]
        db.session.remove()
    def submit(i: int):  # noqa: ANN202
        me = user("a_handler1" if i % 2 else "a_handler2")
        return lambda: complete_task(me, task_ids[i], DECISION)

    outcomes = at_once(app, THREADS, submit)
    assert outcomes.count("ok") == THREADS, [o for o in outcomes if o != "ok"][:5]
    with app.app_context():
        docs = _documents()
        assert sorted(d.serial for d in docs) == list(range(1, THREADS + 1))
        assert len({d.number for d in docs}) == THREADS
        assert {d.task_id for d in docs} == set(task_ids)
        assert verify_documents() == []


def test_every_shipped_template_renders_without_data():
    from engine.documents.render import render_content, shipped_source

    snapshot = {
        "document": {"type": "", "number": "X〔2026〕1号", "code": "X", "year": 2026, "serial": 1,
                     "issued_on": "2026-03-02", "basis": "法"},
        "case": {"number": "X案〔2026〕1号", "procedure": "ordinary", "party_type": "organization", "party_name": "某公司",
                 "party_id_masked": "", "opened_on": "2026-03-02", "unit": "一科", "agency": "X", "agency_name": "X局"},
        "task": {"name": "任务", "bpmn_id": "t", "officer": "甲", "username": "a"},
        "form": {}, "data": {}, "labels": {}, "earlier": {},
    }
    for kind in shipped_types():
        document = {**snapshot["document"], "type": kind.name}
        assert "X〔2026〕1号" in render_content(shipped_source(kind.template), {**snapshot, "document": document})


def shipped_types():
    from engine.documents.types import DocType, _defaults, default_pattern

    return [DocType(t["name"], t["code"], default_pattern(), t["template"], t.get("basis", ""), False)
            for t in _defaults()["types"].values()]


def test_administrator_changes_a_pattern_in_the_admin_view(app, people):
    client = logged_in(app, "admin")
    page = client.get("/admin/document_types/")
    assert page.status_code == 200 and "X市监处罚〔2026〕12号" in page.get_data(as_text=True)
    form = client.get("/admin/document_types/行政处罚决定书").get_data(as_text=True)
    token = page_csrf(form)
    bad = client.post("/admin/document_types/行政处罚决定书", data={"code": "处罚", "pattern": "{code}{serial}", "reason": "试",
                                                                 "csrf_token": token})
    assert bad.status_code == 200 and "{agency}" in bad.get_data(as_text=True)
    ok = client.post("/admin/document_types/行政处罚决定书", data={"code": "罚", "pattern": "{agency}{code}〔{year}〕{serial}号",
                                                                "reason": "统一代字", "csrf_token": token})
    assert ok.status_code == 302
    assert "X市监罚〔2026〕12号" in client.get("/admin/document_types/").get_data(as_text=True)
    assert logged_in(app, "a_handler1").get("/admin/document_types/").status_code == 403
