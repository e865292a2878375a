"""What a file is, judged from its bytes: kinds of evidence, allowed types, script-capable content.

The name and the browser's declared type are the uploader's claim; the content type recorded (and
later served) is what the first bytes say (``filetype``'s signatures). A file whose bytes do not
fit the declared kind is refused, and so is anything a browser could run as a page (HTML, SVG,
XML with markup, scripts) whatever it claims to be: evidence is shown inside the case pages and
must never be able to act as the officer viewing it.

Configuration: ``ZHIFA_EVIDENCE_MAX_BYTES`` (default 4 GiB) and ``ZHIFA_EVIDENCE_TYPES_<KIND>``
(comma-separated content types replacing a kind's list; ``*`` = any type that is not script-capable).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import filetype

from engine.errors import InvalidInput

KINDS: dict[str, str] = {"photo": "照片", "audio": "录音", "video": "录像", "scan": "书证扫描件", "electronic": "电子数据", "other": "其他"}
KINDS_EN = {"photo": "photo", "audio": "audio recording", "video": "video recording", "scan": "document scan",
            "electronic": "electronic data", "other": "other"}
IMAGES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp", "image/heic", "image/heif", "image/avif")
AUDIO = ("audio/mpeg", "audio/mp4", "audio/x-m4a", "audio/aac", "audio/ogg", "audio/x-wav", "audio/wav", "audio/x-flac",
         "audio/amr", "audio/x-aiff", "audio/opus", "audio/webm")
VIDEO = ("video/mp4", "video/quicktime", "video/x-m4v", "video/webm", "video/x-matroska", "video/x-msvideo", "video/mpeg",
         "video/3gpp", "video/x-flv", "video/x-ms-wmv")
ANY = "*"
DEFAULT_TYPES: dict[str, tuple[str, ...]] = {
    "photo": IMAGES,
    "audio": AUDIO,
    "video": VIDEO,
    "scan": ("application/pdf", "image/jpeg", "image/png", "image/tiff", "image/webp"),
    "electronic": (ANY,),
    "other": (ANY,),
}
DEFAULT_MAX_BYTES = 4 * 1024**3
# Shown in the page (img, audio/video player, PDF viewer); everything else is only ever downloaded.
INLINE_PREFIXES = ("image/", "audio/", "video/")
INLINE_EXACT = ("application/pdf",)
# Names a browser or desktop would open as something that runs: refused whatever the bytes are.
SCRIPT_EXTENSIONS = {".html", ".htm", ".xhtml", ".xht", ".shtml", ".svg", ".svgz", ".js", ".mjs", ".hta", ".mht", ".mhtml",
                     ".xml", ".xsl", ".xslt", ".swf", ".jsp", ".php", ".asp", ".aspx"}
# Markup a browser renders as a page: searched in the text at the start of a file filetype does not know.
MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|head|body|script|svg|iframe|object|embed|meta|\?xml|xsl|x:script|math)\b"
                    rb"|xmlns\s*=\s*[\"']http://www\.w3\.org/(1999/xhtml|2000/svg)", re.IGNORECASE)
HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    extension: str


def max_bytes() -> int:
    try:
        return int(os.environ.get("ZHIFA_EVIDENCE_MAX_BYTES") or DEFAULT_MAX_BYTES)
    except ValueError:
        return DEFAULT_MAX_BYTES


def allowed_types(kind: str) -> tuple[str, ...]:
    configured = os.environ.get(f"ZHIFA_EVIDENCE_TYPES_{kind.upper()}")
    if configured:
        return tuple(t.strip().lower() for t in configured.split(",") if t.strip())
    return DEFAULT_TYPES[kind]


def accept_attr(kind: str) -> str:
    """The ``accept`` attribute of a file input for ``kind`` (a hint for the picker; the server decides)."""
    types = allowed_types(kind)
    return "" if ANY in types else ",".join(types)


def is_inline(content_type: str) -> bool:
    return content_type.startswith(INLINE_PREFIXES) or content_type in INLINE_EXACT


def is_image(content_type: str) -> bool:
    return content_type.startswith("image/")


def is_audio(content_type: str) -> bool:
    return content_type.startswith("audio/")


def is_video(content_type: str) -> bool:
    return content_type.startswith("video/")


def is_pdf(content_type: str) -> bool:
    return content_type == "application/pdf"


def check_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind not in KINDS:
        choices = "、".join(f"{k}（{v}）" for k, v in KINDS.items())
        raise InvalidInput(f"证据种类无效，应为：{choices} (kind must be one of {', '.join(KINDS)})",
                           details=[{"field": "kind", "message": "无效的证据种类"}])
    return kind


def check_filename(filename: object) -> str:
    """A plain file name (no folders), not one a browser would run."""
    if not isinstance(filename, str) or not filename.strip():
        raise InvalidInput("请提供文件名 (a file name is required)", details=[{"field": "filename", "message": "必填"}])
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or len(name) > 255 or any(ord(c) < 32 for c in name):
        raise InvalidInput("文件名无效：不得含控制字符，且不超过 255 个字符 (invalid file name)",
                           details=[{"field": "filename", "message": "文件名无效"}])
    if Path(name).suffix.lower() in SCRIPT_EXTENSIONS:
        raise InvalidInput(f"不接受可执行脚本的文件类型（{Path(name).suffix}）：网页、SVG 等请转为 PDF 或截图后上传 "
                           f"(files a browser can run as a page, such as {Path(name).suffix}, are refused: convert to PDF or an image)",
                           details=[{"field": "filename", "message": "不接受的文件类型"}])
    return name


def check_size(size: int, declared: bool = False) -> None:
    limit = max_bytes()
    if size > limit:
        raise InvalidInput(f"文件过大：{_mb(size)}，上限为 {_mb(limit)}；请分割后分别上传，或请系统管理员调整上限 "
                           f"(the file is {_mb(size)}, over the limit of {_mb(limit)}: split it or ask an administrator)",
                           details=[{"field": "file", "message": "文件过大", "limit": limit}])
    if size <= 0 and not declared:
        raise InvalidInput("文件为空，请重新选择文件 (the file is empty)", details=[{"field": "file", "message": "文件为空"}])


def sniff(path: Path) -> Sniffed:
    """The content type of a staged file from its first bytes; refuses script-capable content."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    guess = filetype.guess(head)
    if guess is not None:
        return Sniffed(guess.mime, guess.extension)
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\xfe\xff\x00 \t\r\n")
    if MARKUP.search(text) or MARKUP.search(head.replace(b"\x00", b"")):
        raise InvalidInput("文件内容为网页或 SVG 等可执行脚本的格式，不予接收：请转为 PDF 或截图后上传 "
                           "(the content is HTML, SVG or other markup a browser could run: convert it to PDF or an image)",
                           details=[{"field": "file", "message": "不接受网页或 SVG"}])
    if _is_text(head):
        return Sniffed("text/plain", "txt")
    return Sniffed("application/octet-stream", "bin")


def check_content(kind: str, sniffed: Sniffed) -> None:
    """The bytes must be one of the kind's types (a 'photo' that is a PDF, a 'video' that is a zip: refused)."""
    allowed = allowed_types(kind)
    if ANY in allowed or sniffed.content_type in allowed:
        return
    raise InvalidInput(f"文件内容（{sniffed.content_type}）与所选证据种类“{KINDS[kind]}”不符：请选择正确的种类，或上传"
                       f"{KINDS[kind]}文件 (the content is {sniffed.content_type}, which is not a {KINDS_EN[kind]}: "
                       f"choose the right kind or upload the right file)",
                       details=[{"field": "kind", "message": "文件内容与证据种类不符", "content_type": sniffed.content_type,
                                 "allowed": list(allowed)}])


def parse_time(value: object, field: str = "collected_at") -> dt.datetime | None:
    """An ISO 8601 time as entered (a time without zone is Beijing time, as officers write it)."""
    if value in (None, ""):
        return None
    from engine import clock

    try:
        parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} 不是有效的时间，应为 2026-03-02T09:30 这样的格式 ({field} must be an ISO 8601 time)",
                           details=[{"field": field, "message": "时间格式无效"}])
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=clock.SHANGHAI)


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    sample = head[:-3] if len(head) == HEAD_BYTES else head  # a character cut at the end of the sample is not binary
    for encoding in ("utf-8", "gb18030"):
        try:
            sample.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size < 1024**3 else f"{size / 1024**3:.2f} GB"
