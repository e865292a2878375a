"""The documents test procedure (tests/data/documents) and the decision data its tests submit."""

from __future__ import annotations

from flask import Flask

from engine.models import db
from tests.conftest import DATA, deploy_dir

DECISION = {
    "facts_found": "当事人于2026年2月在其经营场所销售超过保质期的食品。",
    "evidence_summary": "现场笔录、询问笔录、照片。",
    "legal_basis": "《中华人民共和国食品安全法》第三十四条第十项",
    "decided_penalty_kind": "fine",
    "decided_fine": 5000,
    "payment_instructions": "通过非税收入电子缴款系统缴纳",
    "reconsideration_body": "X市人民政府",
    "court": "X市某区人民法院",
}


def deploy_documents(app: Flask) -> int:
    """Deploy the documents test procedure; returns the deployment id."""
    with app.app_context():
        deployment_id = deploy_dir(DATA / "documents")
        db.session.remove()
        return deployment_id
