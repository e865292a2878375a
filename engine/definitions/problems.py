"""One validation problem, located so a designer can jump to it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    line: int | None = None
    element: str | None = None
    kind: str = "lint"  # xml | xsd | limit | reference | lint | expression | form

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element:
            where += f" [{self.element}]"
        return f"{where}: {self.message}"
