"""执法文书 an agency can serve: for every document type the five procedures issue, the PDF names the organ as
issuer, the party with address and legal representative, Chinese dates, no ISO timestamps, no doubled words
or punctuation, no blank where the organ's settings supply a value; one PNG per type is kept and the QR code
on it leads to /verify/<code>."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pymupdf
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select, text

from engine.documents import render as render_module
from engine.documents import verify_documents
from engine.documents.generate import _issue
from engine.documents.pdf import render_pdf
from engine.documents.verification import seal_of
from engine.models import Case, Document, Task, db
from engine.runtime import start_case
from tests.conftest import user
from tests.support.agency_documents import ORGAN, PARTY, SAMPLES, SETTINGS, complete_party, give_unit_an_organ, labels
from tests.support.documents import deploy_documents
from tests.support.web import logged_in, page_csrf

OUTPUT = Path(os.environ.get("ZHIFA_TEST_OUTPUT", Path(tempfile.gettempdir()) / "zhifa-test-output")) / "documents"
SENTINEL = "〔空白〕"
ISO = re.compile(r"\d{4}-\d{2}-\d{2}|T\d{2}:\d{2}")
CN_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
DOUBLED_PUNCTUATION = re.compile(r"([。，；、：])\1|[。，；、][。，；]")
DOUBLED_WORDS = re.compile(r"([\u4e00-\u9fff]{2,6})了?\1")  # 违反违反, 违反了违反
BASE = "http://localhost"
RECORDS = {"听证笔录", "集体讨论记录"}  # signed by those present, not sealed by the organ


@pytest.fixture(autouse=True)
def _fresh_verify_limit(app):
    """Lookups of one test never count against the next (the limit is kept on the session's app)."""
    app.extensions.pop("zhifa_verify_limit", None)
    yield
    app.extensions.pop("zhifa_verify_limit", None)


@pytest.fixture
def organ_case(app, people, frozen):
    with app.app_context():
        deploy_documents(app)
        give_unit_an_organ()
        case = start_case(user("a_handler1"), "doc_test", {"party_type": "organization", "party_name": PARTY["party_name"],
                                                           "party_id_number": PARTY["party_credit_code"]}, {"violation": "销售过期食品"})
        complete_party(db.session.get(Case, case.id))
        case_id = case.id
        db.session.remove()
    return case_id


def _issue_type(case_id: int, doc_type: str) -> Document:
    case = db.session.get(Case, case_id)
    form = SAMPLES[doc_type]
    known = labels()
    document = _issue(user("a_handler1"), case, doc_type, None, task_id=None, task_info={"name": doc_type, "bpmn_id": None},
                      form=form, data={}, labels={k: v for k, v in known.items() if k in form})
    db.session.commit()
    return document


def _pdf_text(data: bytes) -> str:
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        return "".join(page.get_text() for page in pdf)


def _png(data: bytes, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        pdf[0].get_pixmap(dpi=110).save(str(path))
    return path


@pytest.mark.slow
def test_every_procedure_document_reads_like_the_model_form(ctx, organ_case, monkeypatch):
    monkeypatch.setattr(render_module, "BLANK", SENTINEL)  # a blank the settings or the form should have filled
    problems: list[str] = []
    for doc_type in SAMPLES:
        document = _issue_type(organ_case, doc_type)
        issued = [document]
        receipt = db.session.scalars(select(Document).where(Document.serves_id == document.id)).first()
        if receipt is not None:
            issued.append(receipt)
        for doc in issued:
            pdf = render_pdf(doc, BASE, seal=seal_of(doc))
            text = _pdf_text(pdf)
            flat = re.sub(r"\s+", "", text)
            _png(pdf, OUTPUT / f"{doc.doc_type}.png")
            checks = {
                "organ as issuer": flat.startswith(ORGAN) and (f"{ORGAN}（印章）" in flat or doc.doc_type in RECORDS),
                "section not named as issuer": "执法一科（印章）" not in flat,
                "party name": PARTY["party_name"] in flat,
                "party address": PARTY["party_address"] in flat,
                "legal representative": doc.doc_type == "送达回证" or PARTY["party_legal_rep"] in flat,
                "Chinese date": bool(CN_DATE.search(flat)),
                "no ISO timestamp": not ISO.search(text),
                "no doubled punctuation": not DOUBLED_PUNCTUATION.search(flat),
                "no doubled words": not DOUBLED_WORDS.search(_sentences(doc.content)),
                "no unfilled blank": SENTINEL not in flat,
                "verification code": doc.verify_code in flat,
            }
            problems += [f"{doc.doc_type}: {name} {_evidence(name, flat)}" for name, ok in checks.items() if not ok]
    assert problems == [], "\n".join(problems)


def _sentences(html: str) -> str:
    """The printed text with a separator at every tag (a table cell's end is not a word's repetition)."""
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "|", html)).replace("＿", "")


def _evidence(check: str, flat: str) -> str:
    found = {"no doubled punctuation": DOUBLED_PUNCTUATION, "no doubled words": DOUBLED_WORDS, "no ISO timestamp": ISO}.get(check)
    text = _sentences(flat) if check == "no doubled words" else flat
    match = found.search(text) if found else None
    if match:
        return f"{match.group(0)!r} in {text[max(0, match.start() - 10):match.end() + 10]}"
    return flat[:80] if check == "organ as issuer" else ""


def test_decision_fills_the_statutory_clauses_from_the_organ(ctx, organ_case):
    text = re.sub(r"\s+", "", _pdf_text(render_pdf(_issue_type(organ_case, "行政处罚决定书"), BASE)))
    for expected in ("罚款人民币5,000元（大写：伍仟元整）", f"六十日内向{SETTINGS['review_organ']}申请行政复议",
                     f"六个月内向{SETTINGS['court']}提起行政诉讼", SETTINGS["payment_place"], SETTINGS["payment_account"],
                     "2026年3月26日", "统一社会信用代码：91110101MA01ABCD2X", "法定代表人（负责人）：王五"):
        assert expected in text, expected
    assert text.count("罚款人民币5,000元") == 1  # the penalty is stated once


def test_onspot_decision_prints_the_time_in_chinese_and_names_review_organ_and_court(ctx, organ_case):
    document = _issue_type(organ_case, "当场行政处罚决定书")
    text = re.sub(r"\s+", "", _pdf_text(render_pdf(document, BASE)))
    assert "2026年12月5日9时30分" in text and "2026-12-05" not in text
    assert f"向{SETTINGS['review_organ']}申请行政复议" in text and f"向{SETTINGS['court']}提起行政诉讼" in text
    assert "罚款人民币200元（大写：贰佰元整）" in text


def test_qr_code_on_the_rendered_page_leads_to_the_verify_page(app, organ_case, tmp_path):
    with app.app_context():
        document = _issue_type(organ_case, "行政处罚决定书")
        doc_id, code = document.id, document.verify_code
        pdf = render_pdf(document, BASE, seal=seal_of(document))
        db.session.remove()
    [found] = zxingcpp.read_barcodes(Image.open(_png(pdf, tmp_path / "decision.png")))
    assert found.text == f"{BASE}/verify/{code}"
    client = app.test_client()
    page = client.get(found.text.removeprefix(BASE))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-status="valid"' in html
    for shown in (ORGAN, "行政处罚决定书", "X市监处罚〔2026〕1号", "2026年3月2日"):
        assert shown in html
    for private in (PARTY["party_name"], PARTY["party_address"], "王五", "5,000"):
        assert private not in html  # nothing beyond what 公示 shows of any document

    assert _upload(client, found.text.removeprefix(BASE), pdf) == "match"
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 0x01
    assert _upload(client, found.text.removeprefix(BASE), bytes(changed)) == "mismatch"

    with app.app_context():
        from engine.documents.void import void_latest

        void_latest(organ_case, "行政处罚决定书", "决定重于告知的处罚，须重新告知", "a_chief")
        db.session.commit()
        voided = db.session.get(Document, doc_id)
        stamped = render_pdf(voided, BASE, seal=seal_of(voided))
        db.session.remove()
    html = client.get(f"/verify/{code}").get_data(as_text=True)
    assert 'data-status="voided"' in html and "作废" in html
    assert "作废" in _pdf_text(stamped)
    _png(stamped, OUTPUT / "作废的行政处罚决定书.png")
    assert _upload(client, f"/verify/{code}", pdf) == "match"  # the file handed over is still the one issued


def test_unknown_code_is_not_found_and_lookups_are_rate_limited(app, people):
    client = app.test_client()
    assert client.get("/verify/AAAAAAAAAA").status_code == 404
    assert client.get("/verify/not-a-code").status_code == 404
    statuses = [client.get("/verify/AAAAAAAAAA").status_code for _ in range(40)]
    assert 429 in statuses


def test_a_newer_notice_supersedes_the_earlier_one(app, organ_case):
    with app.app_context():
        first = _issue_type(organ_case, "行政处罚告知书")
        second = _issue_type(organ_case, "行政处罚告知书")
        first = db.session.get(Document, first.id)
        assert first.status == "superseded" and first.superseded_by_id == second.id and second.status == "valid"
        assert "已更正" in _pdf_text(render_pdf(first, BASE))
        code = first.verify_code
        assert verify_documents(organ_case) == []
        first_id = first.id
        db.session.remove()
    html = app.test_client().get(f"/verify/{code}").get_data(as_text=True)
    assert 'data-status="superseded"' in html and "已更正" in html
    with app.app_context():
        db.session.execute(text("UPDATE document SET superseded_by_id = NULL, superseded_at = NULL WHERE id = :id"), {"id": first_id})
        db.session.commit()
        assert any("superseded mark" in f.problem for f in verify_documents(organ_case))  # a mark cleared by hand is found
        db.session.remove()


def _upload(client, path: str, data: bytes) -> str:
    import io

    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(path, data={"csrf_token": token, "pdf": (io.BytesIO(data), "document.pdf")},
                           content_type="multipart/form-data")
    return re.search(r'data-result="(\w+)"', response.get_data(as_text=True)).group(1)


def test_service_recorded_later_attaches_to_the_issued_decision(app, organ_case):
    """The decision and its 送达回证 exist before service; recording service adds facts, not a document."""
    from engine.documents.service import record_task_service, services_of

    with app.app_context():
        decision = _issue_type(organ_case, "行政处罚决定书")
        before = db.session.scalars(select(Document).where(Document.case_id == organ_case)).all()
        assert sorted(d.doc_type for d in before) == ["行政处罚决定书", "送达回证"]
        assert "□直接送达" in next(d for d in before if d.doc_type == "送达回证").content  # blank, to fill in by hand
        record_task_service("a_handler1", organ_case, None, None, ["行政处罚决定书", "不予行政处罚决定书"],
                            {"service_method": "postal", "served_on": "2026-03-27", "postal_receipt_on": "2026-03-30",
                             "service_recipient": "王五"}, labels(), None)
        db.session.commit()
        after = db.session.scalars(select(Document).where(Document.case_id == organ_case)).all()
        assert len(after) == len(before)
        [service] = services_of([decision.id])[decision.id]
        assert (service.method_label, service.served_on, service.effective_on, service.recipient) == \
            ("邮寄送达", "2026-03-27", "2026-03-30", "王五")
        from engine.casefile.verify import verify_record

        assert verify_record(organ_case) == []
        assert db.session.scalars(select(Task).where(Task.case_id == organ_case)).first() is not None


def test_administrator_edits_a_text_previews_it_on_a_case_and_the_next_document_uses_it(app, organ_case):
    from engine.models import DocumentTemplate
    from engine.record import audit

    with app.app_context():
        case_number = db.session.get(Case, organ_case).case_number
        db.session.remove()
    client = logged_in(app, "admin")
    url = "/admin/document_types/行政处罚告知书/text"
    page = client.get(url).get_data(as_text=True)
    assert "本机关对你（单位）涉嫌违法一案已调查终结" in page  # the shipped text, to start from
    source = re.search(r'<textarea id="source"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    import html as html_module

    source = html_module.unescape(source)
    edited = source.replace("本机关对你（单位）涉嫌违法一案已调查终结", "本局对你（单位）涉嫌违法一案的调查已经终结")
    token = page_csrf(page)

    missing = edited.replace("{{ s.notified_basis or blank }}", "")  # drops the 理由和依据: refused, the field named
    refused = client.post(url, data={"csrf_token": token, "source": missing, "reason": "改写", "case_number": "", "action": "save"})
    assert refused.status_code == 200 and "f.notified_basis" in refused.get_data(as_text=True)
    unsafe = client.post(url, data={"csrf_token": token, "source": edited + "{% include 'x' %}", "reason": "改写", "action": "save"})
    assert "include" in unsafe.get_data(as_text=True) and "text-error" in unsafe.get_data(as_text=True)

    shown = client.post(url, data={"csrf_token": token, "source": edited, "reason": "", "case_number": case_number, "action": "preview"})
    preview_html = shown.get_data(as_text=True)
    assert "text-preview" in preview_html and "本局对你（单位）涉嫌违法一案的调查已经终结" in preview_html
    assert PARTY["party_name"] in preview_html

    saved = client.post(url, data={"csrf_token": token, "source": edited, "reason": "按省局文书范本调整用语", "action": "save"})
    assert saved.status_code == 302
    with app.app_context():
        document = _issue_type(organ_case, "行政处罚告知书")
        assert "本局对你（单位）涉嫌违法一案的调查已经终结" in document.content and document.template.startswith("db:")
        assert db.session.query(DocumentTemplate).count() == 1
        events = [e for e in db.session.scalars(select(audit.AuditEvent)) if e.action == "document_template.changed"]
        assert len(events) == 1 and events[0].data["reason"] == "按省局文书范本调整用语"
        db.session.remove()
    assert logged_in(app, "a_handler1").get(url).status_code == 403
