"""A bundle: every BPMN, DMN and form file that is deployed together, content-hashed.

Uploaded file names are reduced to a safe relative path and never touch the file system: the bundle
lives in memory and in the database only.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InvalidInput

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FILES = 200


@dataclass(frozen=True)
class BundleFile:
    path: str  # "processes/ordinary.bpmn", "forms/register_lead.json"
    content: bytes

    @property
    def kind(self) -> str:
        if self.path.endswith(".bpmn"):
            return "bpmn"
        if self.path.endswith(".dmn"):
            return "dmn"
        return "form"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)


@dataclass(frozen=True)
class Bundle:
    files: tuple[BundleFile, ...]
    # Paths a designer just uploaded or edited, changed content first: a problem on an element whose
    # id also occurs in an unchanged, previously deployed file is reported against these.
    preferred: tuple[str, ...] = field(default=(), compare=False)

    @property
    def hash(self) -> str:
        digest = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.path):
            digest.update(f.path.encode() + b"\0" + f.sha256.encode() + b"\n")
        return digest.hexdigest()

    def of_kind(self, kind: str) -> list[BundleFile]:
        return sorted((f for f in self.files if f.kind == kind), key=lambda f: f.path)

    def forms(self) -> dict[str, BundleFile]:
        """Forms by reference name: ``forms/register_lead.json`` is referenced as ``register_lead``."""
        return {f.name.removesuffix(".json"): f for f in self.of_kind("form")}

    def replace(self, files: Iterable[BundleFile]) -> Bundle:
        """A new bundle with ``files`` added or replacing those at the same path."""
        merged = {f.path: f for f in self.files}
        new = {f.path: f for f in files}
        changed = [p for p, f in new.items() if p not in merged or merged[p].sha256 != f.sha256]
        same = [p for p in new if p not in changed]
        merged.update(new)
        preferred = dict.fromkeys([*changed, *self.preferred, *same])
        return Bundle(tuple(merged.values()), tuple(preferred))

    @classmethod
    def from_directories(cls, processes_dir: Path, forms_dir: Path) -> Bundle:
        files = []
        for folder, prefix, patterns in ((processes_dir, "processes", ("*.bpmn", "*.dmn")), (forms_dir, "forms", ("*.json",))):
            for pattern in patterns:
                for p in sorted(Path(folder).glob(pattern)):
                    files.append(BundleFile(f"{prefix}/{p.name}", p.read_bytes()))
        if not files:
            raise InvalidInput(f"目录中没有流程文件 (no BPMN/DMN/form files in {processes_dir})")
        return cls(tuple(files))

    @classmethod
    def from_uploads(cls, uploads: Iterable[tuple[str, bytes]]) -> Bundle:
        """Files as uploaded (name, bytes); a ``.zip`` is expanded in memory."""
        files: dict[str, BundleFile] = {}
        for name, content in uploads:
            if len(content) > (MAX_FILES * MAX_FILE_BYTES // 10 if name.lower().endswith(".zip") else MAX_FILE_BYTES):
                raise InvalidInput(f"文件过大: {name} (file too large)")
            if name.lower().endswith(".zip"):
                for inner_name, inner in _unzip(content):
                    f = BundleFile(safe_path(inner_name), inner)
                    files[f.path] = f
            else:
                f = BundleFile(safe_path(name), content)
                files[f.path] = f
        if not files:
            raise InvalidInput("没有上传任何文件 (no files uploaded)")
        if len(files) > MAX_FILES:
            raise InvalidInput(f"文件过多 (more than {MAX_FILES} files)")
        return cls(tuple(files.values()))


def safe_path(name: str) -> str:
    """Map an uploaded name to ``processes/<file>`` or ``forms/<file>``; anything else is refused."""
    base = posixpath.basename(name.replace("\\", "/"))
    if not base or base.startswith(".") or len(base) > 120 or any(c in base for c in "\0:*?\"<>|"):
        raise InvalidInput(f"不允许的文件名 '{name}' (file name not allowed)")
    lower = base.lower()
    if lower.endswith((".bpmn", ".dmn")):
        return f"processes/{base}"
    if lower.endswith(".json"):
        return f"forms/{base}"
    raise InvalidInput(f"不支持的文件类型 '{name}': 只接受 .bpmn、.dmn、.json 或 .zip (unsupported file type)")


def _unzip(content: bytes) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise InvalidInput("zip 文件已损坏 (not a valid zip archive)")
    out = []
    total = 0
    for info in archive.infolist():
        if info.is_dir():
            continue
        # Refuse zip bombs by declared size before inflating anything.
        if info.file_size > MAX_FILE_BYTES:
            raise InvalidInput(f"文件过大: {info.filename} (file larger than {MAX_FILE_BYTES} bytes)")
        total += info.file_size
        if total > MAX_FILES * MAX_FILE_BYTES // 10:
            raise InvalidInput("zip 内容过大 (archive too large)")
        try:
            out.append((info.filename, archive.read(info)))
        except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError) as exc:
            raise InvalidInput(f"zip 中的文件 {info.filename} 无法读取 (unreadable zip member: {exc})")
    return out
