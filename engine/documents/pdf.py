"""A4 PDF of a stored document, with an embedded CJK font (fpdf2).

The PDF is drawn from the stored HTML content, so it shows exactly what was hashed. The font is a
TrueType CJK font from the system (scripts/setup installs Debian's fonts-wqy-zenhei); fpdf2 embeds
the subset of glyphs used. ``ZHIFA_PDF_FONT`` points elsewhere (a .ttf, or a .ttc with face 0).

Around the content: the organ's seal over its signature line, a QR code (``segno``) with the
document's 核验码 pointing to the public page ``/verify/<code>``, and the 作废 / 已更正 mark when the
document is no longer valid. The rendering is deterministic (fixed creation date, no clock), so the
verify page can re-render the document as issued and compare an uploaded file's hash with it.
"""

from __future__ import annotations

import io
import logging
import os
import re
from pathlib import Path

import segno
from fpdf import FPDF, FontFace

from engine import clock
from engine.errors import ZhifaError
from engine.models import Document

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
FAMILY = "zhifa-cjk"
_EMPHASIS = re.compile(r"</?(?:b|strong|i|em)>")
_TAG_STYLES = {
    "h1": FontFace(color=(0, 0, 0), size_pt=18),
    "h2": FontFace(color=(0, 0, 0), size_pt=16),
    "h3": FontFace(color=(0, 0, 0), size_pt=13),
}
# fontTools reports every table it does not subset (the font's bitmap strikes): not our concern.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class PdfUnavailable(ZhifaError):
    code = "pdf_unavailable"
    status = 503


def font_path() -> Path:
    configured = os.environ.get("ZHIFA_PDF_FONT")
    for candidate in ([configured] if configured else []) + list(FONT_CANDIDATES):
        if Path(candidate).is_file():
            return Path(candidate)
    raise PdfUnavailable("服务器未安装中文字体，无法生成 PDF；请运行 scripts/setup 或设置 ZHIFA_PDF_FONT "
                         "(no CJK font installed: run scripts/setup or set ZHIFA_PDF_FONT)")


STATUS_MARKS = {"voided": "作废", "superseded": "已更正"}


def verify_url(base_url: str, document: Document) -> str:
    return f"{base_url.rstrip('/')}/verify/{document.verify_code}"


def qr_png(url: str, scale: int = 4) -> bytes:
    """The QR code of ``url`` as PNG bytes (error correction M, quiet zone kept for scanners)."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def render_pdf(document: Document, base_url: str = "", as_issued: bool = False, seal: bytes | None = None) -> bytes:
    """The document's PDF; ``as_issued`` leaves out the 作废/已更正 mark (the file as first handed over)."""
    path = font_path()
    pdf = _DocumentPdf(document)
    pdf.add_font(FAMILY, "", str(path))  # parsing the 16 MB font takes ~0.5 s: one face only
    pdf.set_font(FAMILY, size=12)
    pdf.set_title(f"{document.doc_type} {document.number}")
    pdf.set_author(document.agency)
    pdf.set_creation_date(document.created_at.astimezone(clock.SHANGHAI))
    pdf.set_margins(25, 25, 20)  # GB/T 9704 style margins (left for binding)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_page()
    mark = None if as_issued else STATUS_MARKS.get(document.status)
    if mark:
        # 作废 / 已更正: stamped over the page, outside the stored content (whose hash is unchanged).
        pdf.set_text_color(200, 0, 0)
        reason = document.void_reason if document.voided_at is not None else "本文书已由新文书更正"
        pdf.multi_cell(0, 8, f"{mark} · {reason or ''}", border=1, align="C")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(4)
    # The CJK font has one face: emphasis tags would ask for a bold face that does not exist.
    pdf.write_html(_EMPHASIS.sub("", document.content), tag_styles=_TAG_STYLES, warn_on_tags_not_matching=False)
    if seal:
        # The seal over the organ's name on the signature line (the last right-aligned paragraph).
        y = max(pdf.t_margin, pdf.get_y() - 30)
        pdf.image(io.BytesIO(seal), x=pdf.w - pdf.r_margin - 42, y=y, w=38, h=38, keep_aspect_ratio=True)
    if document.verify_code:
        _verification_box(pdf, document, base_url)
    if mark:
        _diagonal_mark(pdf, mark)
    return bytes(pdf.output())


def _verification_box(pdf: FPDF, document: Document, base_url: str) -> None:
    """QR code and 核验码 at the foot of the last page (a new page when the content left no room)."""
    size = 24
    if pdf.get_y() + size + 6 > pdf.h - pdf.b_margin:
        pdf.add_page()
    y = pdf.h - pdf.b_margin - size
    pdf.image(io.BytesIO(qr_png(verify_url(base_url, document))), x=pdf.l_margin, y=y, w=size, h=size)
    pdf.set_xy(pdf.l_margin + size + 3, y + 6)
    pdf.set_font(FAMILY, size=9)
    pdf.multi_cell(110, 5, f"核验码：{document.verify_code}\n扫描二维码或访问 {verify_url(base_url, document)} 核验本文书真伪")
    pdf.set_font(FAMILY, size=12)


def _diagonal_mark(pdf: FPDF, mark: str) -> None:
    for page in range(1, pdf.page_no() + 1):
        pdf.page = page
        with pdf.rotation(35, x=pdf.w / 2, y=pdf.h / 2):
            pdf.set_font(FAMILY, size=96)
            pdf.set_text_color(220, 0, 0)
            pdf.set_xy(0, pdf.h / 2 - 20)
            pdf.cell(pdf.w, 40, mark, align="C")
    pdf.set_text_color(0, 0, 0)


class _DocumentPdf(FPDF):
    def __init__(self, document: Document) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.document = document

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FAMILY, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 8, f"{self.document.number} · 第 {self.page_no()} 页 · SHA-256 {self.document.sha256[:16]}…", align="C")
