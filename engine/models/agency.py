"""行政机关 (administrative organ): the issuer of every 执法文书.

A decision is made, sealed and defended by the organ (法 Art. 17, 59), not by the section that
handled it: the documents name the organ's full name, carry its seal, tell the party the 复议机关
and the competent 人民法院 (法 Art. 59(5)), and where to pay (法 Art. 67). Units (承办机构) belong to
one organ; the organ's short name numbers its documents and cases (one sequence per organ × type ×
year), and its own number patterns, where set, replace the type's default pattern.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import UTCDateTime, db

# The settings a document reads, in the order the admin page lists them (column -> Chinese label).
SETTINGS: dict[str, str] = {
    "full_name": "机关全称",
    "short_name": "机关简称（文书编号）",
    "address": "地址",
    "postal_code": "邮政编码",
    "phone": "联系电话",
    "review_organ": "行政复议机关",
    "court": "有管辖权的人民法院",
    "payment_place": "缴款地点（代收银行）",
    "payment_account_name": "收款户名",
    "payment_account": "收款账号",
}


class Agency(db.Model):
    """One administrative organ; ``doc_patterns`` maps a document type name to its number pattern."""

    __tablename__ = "agency"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(40), unique=True)  # one document sequence per organ
    address: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    seal_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # read only by documents and the admin preview
    review_organ: Mapped[str] = mapped_column(String(200), default="")
    court: Mapped[str] = mapped_column(String(200), default="")
    payment_place: Mapped[str] = mapped_column(String(200), default="")
    payment_account_name: Mapped[str] = mapped_column(String(200), default="")
    payment_account: Mapped[str] = mapped_column(String(60), default="")
    doc_patterns: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def pattern_for(self, doc_type: str) -> str | None:
        """The organ's own number pattern for ``doc_type``, or None (the type's pattern applies)."""
        pattern = (self.doc_patterns or {}).get(doc_type)
        return pattern or None

    def settings(self) -> dict[str, Any]:
        """What documents print about the organ (no seal bytes: ask ``seal_png`` when drawing)."""
        return {key: getattr(self, key) or "" for key in SETTINGS} | {"code": self.code, "has_seal": self.seal_png is not None}
