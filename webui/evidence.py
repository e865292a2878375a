"""证据 in the browser: the evidence section of the case and task pages, an item's page, its bytes and thumbnail.

Uploads go through the chunked protocol of /api/v1 (webui/static/js/evidence-upload.js sends the session
cookie and the CSRF header), so one set of checks serves scripts and pages. What is served here is read
through the case's scope (engine.evidence.get_evidence), and an item is always looked up under the case in
the URL: another unit's item is a 404, like its case.

Served bytes can never run script in the page: the content type is the one sniffed at registration, only
images, audio, video and PDF are shown inline (anything else, and SVG whatever it holds, is an attachment
of type application/octet-stream), with ``nosniff`` and a CSP that allows nothing but the media itself.
Range requests are answered (206) so a player seeks in a 2 GB recording without downloading it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from werkzeug.datastructures import ContentRange
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from engine import clock
from engine.errors import NotFound, ZhifaError
from engine.evidence import (
    evidence_summary,
    get_evidence,
    list_evidence,
    open_content,
    thumbnail,
    why_not_add,
    withdraw_evidence,
)
from engine.evidence.sniff import KINDS, accept_attr, is_audio, is_image, is_inline, is_pdf, is_video
from engine.models import Case, Evidence, Task

from .security import safe_redirect

bp = Blueprint("evidence", __name__)

KIND_LABELS = {"photo": _l("照片"), "audio": _l("录音"), "video": _l("录像"), "scan": _l("书证扫描件"),
               "electronic": _l("电子数据"), "other": _l("其他")}  # engine.evidence.sniff.KINDS, in the page's language

THUMB_SIZE = 320
LARGE_PREVIEW = 1280  # an item's page shows a large thumbnail instead of a raw image above RAW_IMAGE_LIMIT
RAW_IMAGE_LIMIT = 4 * 1024 * 1024
NEVER_INLINE = ("image/svg+xml",)  # SVG can carry script: always a download, whatever the sniffer said
# The bytes themselves may load nothing and run nothing (CSP ``sandbox``: an opaque origin without script); a PDF may
# be framed by our own pages only. The sandbox is the response's, not the <iframe>'s: Chromium refuses to show a
# PDF in an iframe with the ``sandbox`` attribute, but shows one served with a sandboxing CSP.
MEDIA_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"
PDF_CSP = "default-src 'none'; sandbox; frame-ancestors 'self'"


def _item(case_id: int, evidence_id: int) -> Evidence:
    evidence = get_evidence(g.user, evidence_id)
    if evidence.case_id != case_id:
        raise NotFound("该证据不属于此案件 (no such evidence item in this case)")
    return evidence


@bp.get("/cases/<int:case_id>/evidence/<int:evidence_id>")
@login_required
def show(case_id: int, evidence_id: int) -> str:
    """One item: the large preview or player, where and when it was collected, its hash, withdrawing it."""
    evidence = _item(case_id, evidence_id)
    case = evidence_case(evidence)
    return render_template("evidence/show.html", e=evidence, item=present(evidence), case=case,
                           can_withdraw=not evidence.withdrawn and why_not_add(g.user, case) is None,
                           raw_image=evidence.size <= RAW_IMAGE_LIMIT)


@bp.get("/cases/<int:case_id>/evidence/<int:evidence_id>/content")
@login_required
def content(case_id: int, evidence_id: int) -> Response:
    evidence = _item(case_id, evidence_id)
    return content_response(evidence, download=request.args.get("download") == "1")


@bp.get("/cases/<int:case_id>/evidence/<int:evidence_id>/thumbnail")
@login_required
def thumb(case_id: int, evidence_id: int) -> Response:
    evidence = _item(case_id, evidence_id)
    size = LARGE_PREVIEW if request.args.get("size") == "large" else THUMB_SIZE
    data = thumbnail(g.user, evidence.id, size)
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"  # derived from immutable bytes
    response.headers["Content-Security-Policy"] = MEDIA_CSP
    response.headers["Content-Disposition"] = f"inline; filename=\"evidence-{evidence.seq}-thumb.jpg\""
    return response


@bp.post("/cases/<int:case_id>/evidence/<int:evidence_id>/withdraw")
@login_required
def withdraw(case_id: int, evidence_id: int) -> Response:
    """撤回 with a reason: the item stays, struck through, with who, when and why."""
    evidence = _item(case_id, evidence_id)
    back = safe_redirect(request.form.get("next"), url_for("evidence.show", case_id=case_id, evidence_id=evidence.id))
    try:
        withdraw_evidence(g.user, evidence.id, request.form.get("reason", ""))
    except ZhifaError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已撤回证据 %(seq)s", seq=evidence.seq), "success")
    return redirect(back)


def content_response(evidence: Evidence, download: bool = False) -> Response:
    """The item's bytes, streamed (ranged when asked), in a form no browser will execute."""
    size = evidence.size
    start, stop, status = 0, size, 200
    if request.range is not None:
        bounds = request.range.range_for_length(size)
        if bounds is None:
            raise RequestedRangeNotSatisfiable(length=size)
        (start, stop), status = bounds, 206
    inline = not download and is_inline(evidence.content_type) and evidence.content_type not in NEVER_INLINE
    body = open_content(g.user, evidence.id, start, stop - 1) if stop > start else iter(())
    response = Response(body, status=status, mimetype=evidence.content_type if inline else "application/octet-stream",
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(stop - start)
    response.headers["Accept-Ranges"] = "bytes"
    if status == 206:
        response.headers["Content-Range"] = ContentRange("bytes", start, stop, size).to_header()
    response.headers["ETag"] = f"\"{evidence.sha256}\""
    response.headers["Content-Disposition"] = disposition(evidence, inline)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["Content-Security-Policy"] = PDF_CSP if inline and is_pdf(evidence.content_type) else MEDIA_CSP
    if inline and is_pdf(evidence.content_type):
        response.headers["X-Frame-Options"] = "SAMEORIGIN"  # the item's page frames it
    return response


def disposition(evidence: Evidence, inline: bool) -> str:
    """ASCII fallback name plus the officer's file name (RFC 6266 ``filename*``)."""
    ext = evidence.filename.rsplit(".", 1)[-1] if "." in evidence.filename else "bin"
    ascii_ext = "".join(c for c in ext if c.isascii() and c.isalnum())[:8] or "bin"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"evidence-{evidence.seq}.{ascii_ext}\"; filename*=UTF-8''{quote(evidence.filename)}"


def evidence_case(evidence: Evidence) -> Case:
    from engine.models import db

    case = db.session.get(Case, evidence.case_id)
    assert case is not None
    return case


def present(evidence: Evidence) -> dict[str, Any]:
    """What the templates show of one item (URLs, how to preview it, local times)."""
    item = evidence_summary(evidence)
    ct = evidence.content_type
    preview = ("image" if is_image(ct) and ct not in NEVER_INLINE else "video" if is_video(ct) else
               "audio" if is_audio(ct) else "pdf" if is_pdf(ct) else "download")
    args = {"case_id": evidence.case_id, "evidence_id": evidence.id}
    return {**item, "preview": preview, "kind_label": str(KIND_LABELS.get(evidence.kind, evidence.kind)),
            "url": url_for("evidence.show", **args), "content_url": url_for("evidence.content", **args),
            "download_url": url_for("evidence.content", download="1", **args),
            "thumb_url": url_for("evidence.thumb", **args), "large_url": url_for("evidence.thumb", size="large", **args),
            "collected_label": _local(evidence.collected_at), "registered_label": _local(evidence.registered_at),
            "withdrawn_label": _local(evidence.withdrawn_at), "size_label": size_label(evidence.size)}


def size_label(size: int) -> str:
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


@bp.app_template_global()
def evidence_panel(case: Case, task: Task | None = None) -> dict[str, Any]:
    """The evidence section of a case or task page: the items, and whether (and why not) this user may add one.

    On a task page an upload is attached to that task; the task must be open (a finished step's record
    is closed)."""
    items = [present(e) for e in list_evidence(g.user, case.id)]
    reason = why_not_add(g.user, case)
    if reason is None and task is not None and task.status != "open":
        reason = _("该任务已办结，不能再在此添加证据")
    return {"entries": items, "can_add": reason is None, "reason": reason, "kinds": {k: str(KIND_LABELS.get(k, k)) for k in KINDS},
            "accept": {kind: accept_attr(kind) for kind in KINDS}, "task_id": task.id if task else "",
            "active": [i for i in items if not i["withdrawn_at"]]}


def evidence_choices(task: Task, schema: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Field name -> the case's items an ``x-widget: evidence`` field may refer to (not withdrawn, of an allowed
    kind); items collected at this task are ticked until the officer says otherwise."""
    fields = {name: [str(k) for k in prop.get("x-kinds") or []] for name, prop in (schema.get("properties") or {}).items()
              if isinstance(prop, dict) and prop.get("x-widget") == "evidence"}
    if not fields:
        return {}
    items = [e for e in list_evidence(g.user, task.case_id) if not e.withdrawn]
    choices: dict[str, list[dict[str, Any]]] = {}
    for name, kinds in fields.items():
        choices[name] = [{
            "id": e.id, "default": e.task_id == task.id,
            "label": " · ".join(p for p in (_("证据 %(seq)s", seq=e.seq), str(KIND_LABELS.get(e.kind, e.kind)), e.description) if p),
            "thumb_url": url_for("evidence.thumb", case_id=e.case_id, evidence_id=e.id) if is_image(e.content_type)
            and e.content_type not in NEVER_INLINE else "",
        } for e in items if not kinds or e.kind in kinds]
    return choices
