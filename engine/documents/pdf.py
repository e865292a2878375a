"""A4 PDF of a stored document, with an embedded CJK font (fpdf2).

The PDF is drawn from the stored HTML content, so it shows exactly what was hashed. The font is a
TrueType CJK font from the system (scripts/setup installs Debian's fonts-wqy-zenhei); fpdf2 embeds
the subset of glyphs used. ``ZHIFA_PDF_FONT`` points elsewhere (a .ttf, or a .ttc with face 0).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

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


def render_pdf(document: Document) -> bytes:
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
    if document.voided_at is not None:
        # 作废: stamped over the page, outside the stored content (whose hash is unchanged).
        pdf.set_text_color(200, 0, 0)
        pdf.multi_cell(0, 8, f"作废 · {document.void_reason or ''}", border=1, align="C")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(4)
    # The CJK font has one face: emphasis tags would ask for a bold face that does not exist.
    pdf.write_html(_EMPHASIS.sub("", document.content), tag_styles=_TAG_STYLES, warn_on_tags_not_matching=False)
    return bytes(pdf.output())


class _DocumentPdf(FPDF):
    def __init__(self, document: Document) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.document = document

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FAMILY, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 8, f"{self.document.number} · 第 {self.page_no()} 页 · SHA-256 {self.document.sha256[:16]}…", align="C")
