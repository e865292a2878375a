"""证据 in the pages (issue 16 part B): the evidence section, an item's bytes (ranged, never executable),
thumbnails, withdrawing with a reason, the ``x-widget: evidence`` task field checked by the engine, and
the 证据清单 document."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from engine import clock
from engine.errors import InvalidInput
from engine.evidence import register_evidence
from engine.evidence.listing import attach_evidence_list, issue_evidence_list
from engine.evidence.storage import FolderStorage, set_storage
from engine.forms.rules import check_case_rules
from engine.models import Case, Document, Evidence, Task, db
from tests.conftest import DATA, deploy_dir, user
from tests.support.evidence import PDF
from tests.support.web import client_csrf as csrf
from tests.support.web import logged_in, start
from webui.formrender import fields_of, parse_form

PHOTO_KINDS = {"type": "array", "title": "现场照片", "items": {"type": "integer"}, "minItems": 1, "uniqueItems": True,
               "x-widget": "evidence", "x-kinds": ["photo"]}


@pytest.fixture(autouse=True)
def storage(tmp_path: Path) -> Iterator[FolderStorage]:
    store = FolderStorage(tmp_path / "objects")
    set_storage(store)
    yield store
    set_storage(None)


def jpeg(color: str = "red", size: tuple[int, int] = (640, 480), taken: str = "2026:03:01 10:15:00") -> bytes:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x8769] = {0x9003: taken}  # Exif IFD: DateTimeOriginal
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def add(app: Flask, case_id: int, data: bytes, kind: str = "photo", filename: str = "scene.jpg", task_id: str | None = None,
        description: str = "仓库东侧货架") -> int:
    with app.app_context():
        item = register_evidence(user("a_handler1"), case_id, io.BytesIO(data), kind=kind, filename=filename,
                                 description=description, collected_place="X市人民路1号仓库", task_id=task_id)
        db.session.commit()
        found = item.id
        db.session.remove()
        return found


@pytest.fixture
def case(app: Flask, people: dict[str, int], mini: int, frozen: clock.FrozenClock) -> tuple[int, str]:
    return start(app)


def test_case_page_shows_thumbnails_hashes_and_the_uploader(app: Flask, case: tuple[int, str]) -> None:
    case_id, _task = case
    photo = add(app, case_id, jpeg())
    client = logged_in(app, "a_handler1")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="evidence"' in page and f'data-evidence-id="{photo}"' in page
    assert f"/cases/{case_id}/evidence/{photo}/thumbnail" in page  # a thumbnail, never the raw photo in the list
    with app.app_context():
        sha = db.session.get(Evidence, photo).sha256
    assert f'data-sha256="{sha}"' in page
    assert 'id="evidence-upload"' in page and f"/api/v1/cases/{case_id}/evidence/uploads" in page

    thumb = client.get(f"/cases/{case_id}/evidence/{photo}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320
    assert thumb.headers["X-Content-Type-Options"] == "nosniff"

    # the reviewer (another role of the unit) sees the items but no uploader
    reviewer = logged_in(app, "a_chief").get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'data-evidence-id="{photo}"' in reviewer


def test_content_is_ranged_and_can_never_run_script(app: Flask, case: tuple[int, str]) -> None:
    case_id, _task = case
    data = jpeg("blue")
    photo = add(app, case_id, data)
    client = logged_in(app, "a_handler1")
    url = f"/cases/{case_id}/evidence/{photo}/content"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.data == data and whole.mimetype == "image/jpeg"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in whole.headers["Content-Security-Policy"]
    assert whole.headers["Content-Disposition"].startswith("inline; filename=\"evidence-1.jpg\"")

    part = client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = client.get(url, headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.data == data[-5:]
    assert client.get(url, headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416

    download = client.get(url + "?download=1")
    assert download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_a_pdf_is_framed_by_its_page_only(app: Flask, case: tuple[int, str]) -> None:
    case_id, _task = case
    scan = add(app, case_id, PDF, kind="scan", filename="询问笔录.pdf", description="询问笔录签字页")
    client = logged_in(app, "a_handler1")
    page = client.get(f"/cases/{case_id}/evidence/{scan}").get_data(as_text=True)
    assert f'<iframe class="w-100 border zf-pdf" src="/cases/{case_id}/evidence/{scan}/content"' in page
    content = client.get(f"/cases/{case_id}/evidence/{scan}/content")
    assert content.mimetype == "application/pdf"
    assert "frame-ancestors 'self'" in content.headers["Content-Security-Policy"]
    assert "sandbox" in content.headers["Content-Security-Policy"]
    assert content.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "filename*=UTF-8''%E8%AF%A2" in content.headers["Content-Disposition"]


def test_another_units_officer_and_another_case_get_404(app: Flask, case: tuple[int, str]) -> None:
    case_id, _task = case
    photo = add(app, case_id, jpeg())
    other_case, _ = start(app, "另一家公司")
    outsider = logged_in(app, "b_handler1")
    for suffix in ("", "/content", "/thumbnail"):
        assert outsider.get(f"/cases/{case_id}/evidence/{photo}{suffix}").status_code == 404
    token = csrf(outsider)
    r = outsider.post(f"/cases/{case_id}/evidence/{photo}/withdraw", data={"reason": "x", "csrf_token": token})
    assert r.status_code == 404
    insider = logged_in(app, "a_handler1")
    assert insider.get(f"/cases/{other_case}/evidence/{photo}/content").status_code == 404  # under the wrong case
    assert 'data-evidence-id' not in logged_in(app, "b_handler1").get("/public/penalties").get_data(as_text=True)


def test_withdrawing_needs_a_reason_and_keeps_the_item_struck_through(app: Flask, case: tuple[int, str]) -> None:
    case_id, _task = case
    photo = add(app, case_id, jpeg())
    client = logged_in(app, "a_handler1")
    url = f"/cases/{case_id}/evidence/{photo}/withdraw"
    r = client.post(url, data={"reason": "  ", "csrf_token": csrf(client)}, follow_redirects=True)
    assert r.status_code == 200
    with app.app_context():
        assert not db.session.get(Evidence, photo).withdrawn
    r = client.post(url, data={"reason": "拍摄对象错误，已重新拍摄", "csrf_token": csrf(client)}, follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "已撤回" in page and "拍摄对象错误，已重新拍摄" in page and "a_handler1" in page
    case_page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-withdrawn="1"' in case_page and "text-decoration-line-through" in case_page
    assert client.get(f"/cases/{case_id}/evidence/{photo}/content").status_code == 200  # the bytes are kept


def test_widget_renders_and_posts_evidence_ids() -> None:
    schema = {"properties": {"photos": PHOTO_KINDS}, "required": ["photos"]}
    [field] = fields_of(schema)
    assert field.widget == "evidence" and field.kinds == ["photo"]
    from werkzeug.datastructures import MultiDict

    assert parse_form(schema, MultiDict([("photos", "3"), ("photos", "7")])) == {"photos": [3, 7]}
    assert parse_form(schema, MultiDict([])) == {}


def test_engine_checks_the_evidence_a_field_names(app: Flask, case: tuple[int, str]) -> None:
    case_id, _task = case
    photo = add(app, case_id, jpeg())
    scan = add(app, case_id, PDF, kind="scan", filename="scan.pdf")
    withdrawn = add(app, case_id, jpeg("green"))
    other_case, _ = start(app, "另一家公司")
    foreign = add(app, other_case, jpeg("yellow"))
    schema = {"properties": {"photos": PHOTO_KINDS}}
    with app.app_context():
        from engine.evidence import withdraw_evidence

        withdraw_evidence(user("a_handler1"), withdrawn, "重复")
        db.session.commit()
        the_case = db.session.get(Case, case_id)
        check_case_rules(the_case, schema, {"photos": [photo]})  # this case's photo: accepted
        for ids, words in (([scan], "只接受照片"), ([withdrawn], "已撤回"), ([foreign], "不是本案的证据"),
                           ([photo, 999999], "不是本案的证据")):
            with pytest.raises(InvalidInput) as refused:
                check_case_rules(the_case, schema, {"photos": ids})
            assert words in refused.value.message, (ids, refused.value.message)
            assert refused.value.details[0]["field"] == "photos"


def widget_deployment(app: Flask, tmp_path: Path) -> None:
    """The mini procedure whose 登记 form requires at least one photo."""
    root = tmp_path / "mini_evidence"
    shutil.copytree(DATA / "mini", root)
    form_path = root / "forms" / "mini_register.json"
    form = json.loads(form_path.read_text(encoding="utf-8"))
    form["properties"]["photos"] = PHOTO_KINDS
    form["required"].append("photos")
    form_path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    with app.app_context():
        deploy_dir(root)
        db.session.remove()


def test_task_page_widget_ticks_uploads_of_the_task_and_completion_enforces_it(
        app: Flask, people: dict[str, int], frozen: clock.FrozenClock, tmp_path: Path, api: Callable[[str], Any]) -> None:
    widget_deployment(app, tmp_path)
    case_id, task_id = start(app)
    scan = add(app, case_id, PDF, kind="scan", filename="scan.pdf", task_id=task_id)
    client = logged_in(app, "a_handler1")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'class="zf-evidence-pick" data-field="photos" data-kinds="photo"' in page
    assert f'name="photos" value="{scan}"' not in page  # a scan is not offered for a photo field
    assert "本案尚无可选的证据" in page

    photo = add(app, case_id, jpeg(), task_id=task_id)
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f'id="f-photos-e{photo}" name="photos" value="{photo}"' in page and "checked" in page.split(f'value="{photo}"')[1][:80]

    base = {"facts": "销售过期食品", "proposed_fine": "100", "csrf_token": csrf(client), "version": "1"}
    refused = client.post(f"/tasks/{task_id}", data={**base, "photos": str(scan)})
    assert refused.status_code == 422 and "只接受照片" in refused.get_data(as_text=True)
    status, body = api("a_handler1").post(f"/tasks/{task_id}/complete", {"data": {
        "facts": "销售过期食品", "proposed_fine": 100, "photos": [scan]}})  # the API is held to the same rule
    assert status == 422 and "只接受照片" in body["message"], body
    missing = client.post(f"/tasks/{task_id}", data=base)
    assert missing.status_code == 422
    done = client.post(f"/tasks/{task_id}", data={**base, "photos": str(photo)})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Task, task_id).status == "completed"


def test_evidence_list_document_lists_items_with_hashes(app: Flask, case: tuple[int, str]) -> None:
    case_id, _task = case
    photo = add(app, case_id, jpeg(), description="冷库温度显示屏")
    scan = add(app, case_id, PDF, kind="scan", filename="笔录.pdf", description="询问笔录")
    gone = add(app, case_id, jpeg("black"), description="拍错的照片")
    with app.app_context():
        from engine.evidence import withdraw_evidence

        withdraw_evidence(user("a_handler1"), gone, "拍错")
        document = issue_evidence_list(user("a_handler1"), case_id, "本清单附于调查终结报告（测试）")
        db.session.commit()
        items = {e.id: e for e in db.session.query(Evidence).filter_by(case_id=case_id)}
        content = document.content
        assert document.doc_type == "证据清单" and "证清" in document.number
        for kept in (photo, scan):
            assert items[kept].sha256 in content and items[kept].description in content
        assert items[gone].sha256 not in content  # withdrawn: no longer relied on
        assert "照片" in content and "书证扫描件" in content and "X市人民路1号仓库" in content
        assert "共 2 项证据" in content

        spec = SimpleNamespace(task_spec=SimpleNamespace(extensions={"properties": {"evidence_list": "true"}}))
        plain = SimpleNamespace(task_spec=SimpleNamespace(extensions={"properties": {}}))
        task = db.session.query(Task).filter_by(case_id=case_id).first()
        instance = SimpleNamespace(id=task.instance_id)
        assert attach_evidence_list(user("a_handler1"), task, instance, plain, None) is None
        attached = attach_evidence_list(user("a_handler1"), task, instance, spec, document)
        assert attached is not None and document.number in attached.content
        db.session.commit()
        assert db.session.query(Document).filter_by(case_id=case_id, doc_type="证据清单").count() == 2
        db.session.remove()
    page = logged_in(app, "a_handler1").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "证据清单" in page
