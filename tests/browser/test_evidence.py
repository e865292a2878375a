"""证据 in the browser (issue 16): at 调查取证 an officer attaches three photos (with EXIF times) and a short
video through the chunked uploader — one chunk's connection is dropped and the page resumes from the offset
the server reports — sees the thumbnails, plays the video, and ticks them in the form; the legal reviewer
sees them at 法制审核; the 证据清单 issued with the investigation report lists them with their hashes.

The video is recorded by the browser itself (canvas + MediaRecorder, WebM/VP8): no video tool is needed.
Screenshots go to /tmp/shots/h2b/.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, Route
from sqlalchemy import select

from engine import clock
from engine.evidence.storage import FolderStorage, set_storage
from engine.models import Document, Evidence, Task, User, db
from engine.runtime import claim_task, complete_task
from tests.browser.conftest import Demo, login

SHOTS = Path("/tmp/shots/h2b")
PARTY = "某某超市有限公司"  # demo case 4: its lead is registered, waiting for 立案审批
COLOURS = ("#c0392b", "#2e86c1", "#27ae60")

RECORD_WEBM = """async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 160; canvas.height = 120;
  const ctx = canvas.getContext('2d');
  const stream = canvas.captureStream(15);
  const recorder = new MediaRecorder(stream, {mimeType: 'video/webm;codecs=vp8'});
  const parts = [];
  recorder.ondataavailable = (e) => { if (e.data.size) parts.push(e.data); };
  let frame = 0;
  const timer = setInterval(() => {
    ctx.fillStyle = `hsl(${(frame * 24) % 360}, 70%, 50%)`; ctx.fillRect(0, 0, 160, 120);
    ctx.fillStyle = '#fff'; ctx.font = '28px sans-serif'; ctx.fillText(String(frame++), 60, 70);
  }, 66);
  recorder.start(250);
  await new Promise((r) => setTimeout(r, 2000));
  recorder.stop();
  await new Promise((r) => { recorder.onstop = r; });
  clearInterval(timer);
  const bytes = new Uint8Array(await new Blob(parts, {type: 'video/webm'}).arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) { text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)); }
  return btoa(text);
}"""


def photo(colour: str, taken: str) -> bytes:
    """A JPEG as a phone writes it: pixels and the EXIF DateTimeOriginal the evidence time is read from."""
    image = Image.new("RGB", (1600, 1200), colour)
    for x in range(0, 1600, 200):  # some structure, so the thumbnail is visibly a picture
        image.paste((255, 255, 255), (x, 0, x + 20, 1200))
    exif = Image.Exif()
    exif[0x8769] = {0x9003: taken}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[None]:
    set_storage(FolderStorage(tmp_path / "objects"))
    yield
    set_storage(None)


def _user(name: str) -> User:
    return db.session.scalars(select(User).where(User.username == name)).one()


def _open(case_id: int, bpmn_id: str) -> Task:
    db.session.remove()
    return db.session.scalars(select(Task).where(Task.case_id == case_id, Task.bpmn_id == bpmn_id, Task.status == "open")).one()


def _work(case_id: int, bpmn_id: str, username: str, data: dict) -> None:
    task = _open(case_id, bpmn_id)
    claim_task(_user(username), task.id)
    complete_task(_user(username), task.id, data)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _upload(page: Page, kind: str, files: list[dict], expect_total: int, description: str) -> None:
    form = page.locator("form#evidence-upload")
    form.locator("#evidence-kind").select_option(kind)
    form.locator("#evidence-description").fill(description)
    form.locator("#evidence-collected-place").fill("X市人民路1号某某超市仓库")
    form.locator("#evidence-file").set_input_files(files)
    form.locator("#evidence-submit").click()
    page.wait_for_function(f"() => document.getElementById('evidence-upload').getAttribute('data-uploaded') == '{expect_total}'"
                           " || document.getElementById('evidence-status').classList.contains('text-danger')",
                           timeout=30_000)
    assert "text-danger" not in (page.locator("#evidence-status").get_attribute("class") or ""), \
        page.locator("#evidence-status").inner_text()


@pytest.mark.slow  # about 15 s: four uploads, a recording made by the browser, three officers' steps
def test_officer_attaches_photos_and_video_reviewer_sees_them_and_the_list_has_hashes(
        app: Flask, demo: Demo, store: None, frozen: clock.FrozenClock, new_page: Callable[..., Page]) -> None:
    case_id = demo.task(PARTY).case_id
    today = clock.today_shanghai().isoformat()
    with app.app_context():
        _work(case_id, "file_case", "a_head", {"filing_decision": "file", "case_cause": "销售过期食品案", "filed_on": today,
                                               "assigned_handlers": ["a_handler1", "a_handler2"], "filing_opinion": "同意立案"})
        investigate = _open(case_id, "investigate").id
        db.session.remove()

    page = login(new_page(), "a_handler1")
    page.goto(f"/tasks/{investigate}")
    if page.locator("form.claim button").count():  # a designated handler's task may already be theirs
        with page.expect_navigation():
            page.locator("form.claim button").click()
        page.goto(f"/tasks/{investigate}")

    # three photos; the second chunk request of the first one loses its connection once
    dropped: list[str] = []

    def drop_once(route: Route) -> None:
        if route.request.method == "PUT" and not dropped:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/evidence/uploads/*", drop_once)
    photos = [{"name": f"IMG_000{i + 1}.jpg", "mimeType": "image/jpeg", "buffer": photo(c, f"2026:03:01 10:1{i}:00")}
              for i, c in enumerate(COLOURS)]
    _upload(page, "photo", photos, 3, "货架上超过保质期的预包装食品")
    assert dropped, "the dropped connection was never simulated"
    page.unroute("**/api/v1/evidence/uploads/*")

    video = base64.b64decode(page.evaluate(RECORD_WEBM))
    assert video[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file
    _upload(page, "video", [{"name": "执法记录仪.webm", "mimeType": "video/webm", "buffer": video}], 4, "执法记录仪现场检查录像")

    # added to the list and ticked in the form by the page itself, before any reload
    assert page.locator("input[name=evidence_files]:checked").count() == 4
    assert page.locator("#evidence-list img.zf-thumb").count() == 3 and page.locator("#evidence-list video").count() == 1
    page.reload()
    items = page.locator("#evidence-list li.zf-evidence")
    assert items.count() == 4
    thumbs = page.locator("#evidence-list img.zf-thumb")
    assert thumbs.count() == 3
    page.wait_for_function("() => Array.from(document.querySelectorAll('#evidence-list img.zf-thumb'))"
                           ".every((img) => img.complete && img.naturalWidth > 0 && img.naturalWidth <= 320)")
    assert "2026-03-01 10:10" in items.nth(0).inner_text()  # the time the photo was taken (EXIF), not the upload time
    played = page.evaluate("""async () => {
      const v = document.querySelector('#evidence-list video.zf-player');
      v.muted = true;
      await v.play();
      await new Promise((r) => setTimeout(r, 800));
      return {time: v.currentTime, state: v.readyState, error: v.error && v.error.code};
    }""")
    assert played["error"] is None and played["state"] >= 2 and played["time"] > 0.2, played
    boxes = page.locator("input[name=evidence_files]")
    assert boxes.count() == 4 and all(boxes.nth(i).is_checked() for i in range(4))  # collected here: ticked
    _shot(page, "1-investigation-evidence.png")

    form = page.locator("form#task-form")
    form.locator("#f-co_investigators").select_option("a_handler2")
    form.locator("[name='evidence_items-0-name']").fill("现场照片、执法记录仪录像")
    form.locator("[name='evidence_items-0-kind']").select_option("audiovisual")
    form.locator("[name='evidence_items-0-source']").fill("现场拍摄")
    form.locator("[name='evidence_items-0-collected_on']").fill(today)
    form.locator("#f-investigation_summary").fill("现场查见货架上超过保质期的预包装食品12件。")
    with page.expect_navigation():
        form.locator("#complete").click()
    assert f"/cases/{case_id}" in page.url, page.locator("#form-error").all_inner_texts()
    assert page.locator("#evidence-list li.zf-evidence").count() == 4
    _shot(page, "1b-case-page.png")

    with app.app_context():
        ids = sorted(db.session.scalars(select(Evidence.id).where(Evidence.case_id == case_id)))
        done = db.session.scalars(select(Task).where(Task.id == investigate)).one()
        assert done.status == "completed"
        _work(case_id, "investigation_report", "a_handler1", {
            "facts_found": "销售超过保质期的预包装食品", "evidence_summary": "现场照片三张、执法记录仪录像一段",
            "legal_basis": "《食品安全法》第一百二十四条", "violation_code": "other", "discretion_tier": "general",
            "proposed_outcome": "penalty", "penalty_kind": "fine", "proposed_fine": 150000, "proposed_penalty": "罚款150000元",
            "mitigated_below_minimum": False, "complex_case": False, "major_public_interest": False, "report_date": today})
        _work(case_id, "submit_review", "a_handler1", {"submitted_materials": ["report", "evidence"], "materials_complete": True,
                                                       "submitted_at": clock.now().isoformat()})
        review = _open(case_id, "review").id
        lists = db.session.scalars(select(Document).where(Document.case_id == case_id, Document.doc_type == "证据清单")
                                   .order_by(Document.id)).all()
        assert len(lists) == 2  # one with the 调查终结报告, one with the submission to 法制审核
        hashes = [e.sha256 for e in db.session.scalars(select(Evidence).where(Evidence.case_id == case_id))]
        assert len(hashes) == 4 == len(ids)
        list_id = lists[0].id
        assert all(h in lists[0].content and h in lists[1].content for h in hashes)
        db.session.remove()

    reviewer = login(new_page(), "a_reviewer")
    reviewer.goto(f"/tasks/{review}")
    section = reviewer.locator("#evidence")
    assert section.locator("li.zf-evidence").count() == 4
    assert section.locator("#evidence-review-note").is_visible()
    assert section.locator("form#evidence-upload").count() == 0  # the reviewer looks, does not add
    reviewer.wait_for_function("() => Array.from(document.querySelectorAll('#evidence-list img.zf-thumb'))"
                               ".every((img) => img.complete && img.naturalWidth > 0)")
    assert reviewer.evaluate("() => document.querySelector('#evidence-list video').readyState >= 1 || "
                             "new Promise((r) => document.querySelector('#evidence-list video')"
                             ".addEventListener('loadedmetadata', () => r(true)))")
    _shot(reviewer, "2-legal-review-evidence.png")

    reviewer.goto(f"/cases/{case_id}/documents/{list_id}")
    text = reviewer.locator("body").inner_text()
    assert "证据清单" in text and all(h in text for h in hashes)
    assert "照片" in text and "录像" in text and "X市人民路1号某某超市仓库" in text and "2026年3月1日 10:10" in text
    assert "执法记录仪现场检查录像" in text
    _shot(reviewer, "3-evidence-list.png")
    assert not page.js_errors and not reviewer.js_errors  # type: ignore[attr-defined]


def test_a_scanned_pdf_is_shown_inline_on_its_page(app: Flask, demo: Demo, store: None, new_page: Callable[..., Page]) -> None:
    """A 书证扫描件 in PDF opens in the browser's PDF viewer inside the item's page (framed from this site only)."""
    from engine.evidence import register_evidence
    from tests.support.evidence import PDF

    case_id = demo.task(PARTY).case_id
    with app.app_context():
        item = register_evidence(_user("a_handler1"), case_id, io.BytesIO(PDF), kind="scan", filename="询问笔录.pdf",
                                 description="询问笔录签字页")
        db.session.commit()
        evidence_id = item.id
        db.session.remove()
    page = login(new_page(), "a_handler1")
    page.goto(f"/cases/{case_id}/evidence/{evidence_id}")
    page.wait_for_load_state("networkidle")
    frames = [frame.url for frame in page.frames]
    assert any(url.endswith(f"/cases/{case_id}/evidence/{evidence_id}/content") for url in frames), frames
    assert not any(url.startswith("chrome-error:") for url in frames), frames
    _shot(page, "4-scan-pdf.png")
