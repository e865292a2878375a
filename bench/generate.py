"""Data generator: clone real cases by the thousand with PostgreSQL COPY.

A template is a case made through the engine (so its workflow state, projection and audit chain are
real). A clone copies its ``case``, ``process_instance`` and ``task`` rows with new ids, a new case
number, and every SpiffWorkflow task UUID in the state and the projection rewritten: a clone is a
case of its own that can be completed, fired or read like any other (it only lacks the template's
audit history). Rewriting is one ``str.join`` per state: each UUID's first 8 hex digits are replaced
by the clone's serial number, so the UUIDs stay unique and the state stays consistent.

    gen = Generator()                       # inside an app context, on PostgreSQL
    tpl = gen.template(case_id)
    gen.clone(tpl, 100_000, vary=lambda i, case, instance, tasks: ...)

``vary`` may change the rows of clone ``i`` in place (assignee, due dates, timer due times, unit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import func, select, text

from engine.models import Case, ProcessInstance, Task, db

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CHUNK = 5000
Vary = Callable[[int, dict[str, Any], dict[str, Any], list[dict[str, Any]]], None]
TABLES = (Case.__table__, ProcessInstance.__table__, Task.__table__)


@dataclass
class Template:
    case: dict[str, Any]
    instance: dict[str, Any]
    tasks: list[dict[str, Any]]
    state_parts: list[str]  # the state split at every UUID, each UUID's first 8 hex digits dropped


class Generator:
    def __init__(self) -> None:
        self.serial = 0x40000000  # clone UUIDs start with 4xxxxxxx, far from uuid4's random prefixes colliding in practice
        self.cloned = 0

    def template(self, case_id: int) -> Template:
        conn = db.session.connection()
        case_t, instance_t, task_t = TABLES
        case = dict(conn.execute(select(case_t).where(case_t.c.id == case_id)).mappings().one())
        instance = dict(conn.execute(select(instance_t).where(instance_t.c.case_id == case_id)).mappings().one())
        tasks = [dict(r) for r in conn.execute(select(task_t).where(task_t.c.case_id == case_id)).mappings()]
        parts, last = [], 0
        for m in UUID.finditer(instance["state"]):
            parts.append(instance["state"][last:m.start()])
            last = m.start() + 8
        parts.append(instance["state"][last:])
        return Template(case, instance, tasks, parts)

    def clone(self, tpl: Template, n: int, vary: Vary | None = None, label: str = "G") -> None:
        """n clones of ``tpl``, written with COPY in chunks (one transaction per chunk)."""
        conn = db.session.connection()  # ids after whatever the engine created meanwhile
        self.next_case = (conn.scalar(select(func.max(Case.id))) or 0) + 1
        self.next_instance = (conn.scalar(select(func.max(ProcessInstance.id))) or 0) + 1
        for start in range(0, n, CHUNK):
            rows: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]] = ([], [], [])
            for i in range(start, min(start + CHUNK, n)):
                prefix = f"{self.serial:08x}"
                self.serial += 1
                case = {**tpl.case, "id": self.next_case, "case_number": f"基准案〔2026〕{label}{self.serial:09d}号"}
                instance = {**tpl.instance, "id": self.next_instance, "case_id": self.next_case,
                            "state": prefix.join(tpl.state_parts)}
                # A clone's pool steps count as offered: a generated database has no backlog of offers.
                tasks = [{**t, "id": prefix + t["id"][8:], "case_id": self.next_case, "instance_id": self.next_instance,
                          "offer_pending": False} for t in tpl.tasks]
                if vary is not None:
                    vary(i, case, instance, tasks)
                rows[0].append(case)
                rows[1].append(instance)
                rows[2].extend(tasks)
                self.next_case += 1
                self.next_instance += 1
            self._copy(rows)
            self.cloned += min(CHUNK, n - start)
        self._sync_sequences()

    def _copy(self, rows: tuple[list[dict[str, Any]], ...]) -> None:
        raw = db.session.connection().connection.driver_connection  # the psycopg connection of this transaction
        with raw.cursor() as cur:
            for table, table_rows in zip(TABLES, rows, strict=True):
                columns = [c.name for c in table.columns]
                names = ", ".join(f'"{c}"' for c in columns)
                with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in table_rows:
                        copy.write_row([_value(row[c]) for c in columns])
        db.session.commit()

    def _sync_sequences(self) -> None:
        for table in TABLES[:2]:
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                    f"(SELECT max(id) FROM \"{table.name}\"))"))
        db.session.commit()


def _value(value: Any) -> Any:
    return Json(value) if isinstance(value, dict | list) else value
