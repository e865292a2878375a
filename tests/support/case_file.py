"""The exported case file (案卷) checked as a reader would: its own verify.py run offline, and a file in it rewritten."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile


def run_verify(tmp_path, content: bytes) -> subprocess.CompletedProcess[str]:
    """Exactly what the README tells a reader to do: the enclosed verify.py, Python only, offline."""
    path = tmp_path / "case.zip"
    path.write_bytes(content)
    script = zipfile.ZipFile(path).read("verify.py")
    (tmp_path / "verify.py").write_bytes(script)
    return subprocess.run([sys.executable, "-I", str(tmp_path / "verify.py"), str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)


def rewrite(content: bytes, name: str, change) -> bytes:  # noqa: ANN001
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            target.writestr(item, change(data) if item == name else data)
    return out.getvalue()
