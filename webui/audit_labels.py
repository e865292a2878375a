"""The audit log told in words (系统管理 › 审计日志): every recorded action and chain has a Chinese label.

A case's events already have labels for its timeline (webui/timeline.py ``ACTIONS``); the events of
the system chain (accounts, credentials, deployments, settings) are labelled here, so the
administrator's log shows no codes (``user.created``) in the Chinese UI. The stored record is unchanged:
labels are for reading, the codes stay what the hash chain covers and what filters match.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from .i18n import actor_name
from .timeline import ACTIONS, OTHER

SYSTEM_ACTIONS = {
    "user.created": _l("创建用户"),
    "user.updated": _l("修改用户"),
    "user.login": _l("登录系统"),
    "user.logout": _l("退出登录"),
    "user.password_reset": _l("重置密码"),
    "token.issued": _l("签发接口令牌"),
    "token.revoked": _l("吊销接口令牌"),
    "credential.added": _l("登记证件"),
    "credential.updated": _l("修改证件"),
    "credential.removed": _l("注销证件"),
    "unit.created": _l("创建单位"),
    "unit.updated": _l("修改单位"),
    "draft.created": _l("创建流程草稿"),
    "draft.saved": _l("保存流程草稿"),
    "draft.discarded": _l("放弃流程草稿"),
    "draft.deployed": _l("发布流程草稿"),
    "deployment.created": _l("部署流程"),
    "deployment.rolled_back": _l("回退流程版本"),
    "deployment.submitted": _l("提交流程部署审核"),
    "deployment.approved": _l("批准流程部署"),
    "deployment.rejected": _l("驳回流程部署"),
    "deployment.withdrawn": _l("撤回流程部署提交"),
    "deployment_review.configured": _l("修改部署审核设置"),
    "document_type.changed": _l("修改文书编号规则"),
    "document_template.changed": _l("修改文书模板"),
    "document.served": _l("登记文书送达"),
    "document.superseded": _l("文书已更正"),
    "time_limit.changed": _l("修改时限"),
    "time_limit.created": _l("新建时限"),
    "time_limit.shipped": _l("随新版本载入时限"),
    "time_limit.deleted": _l("删除时限"),
    "time_limit.reapplied": _l("按新时限调整在办期限"),
    "calendar.changed": _l("修改节假日日历"),
    "delivery.settings_changed": _l("修改通知发送设置"),
    "audit.verified": _l("校验全过程记录"),
}


def action_label(code: str | None) -> str:
    """The words for an action code; a code nobody labelled yet is 系统记录, never the code."""
    return str(SYSTEM_ACTIONS.get(code or "") or ACTIONS.get(code or "", OTHER))


def action_options() -> list[tuple[str, str]]:
    """(code, label) of every labelled action, for the log's 动作 filter."""
    return sorted(((code, str(text)) for code, text in {**ACTIONS, **SYSTEM_ACTIONS}.items()), key=lambda o: o[1])


def chain_label(chain: str | None) -> str:
    """``system`` → 系统记录链, ``case:12`` → 案件 12."""
    if chain and chain.startswith("case:"):
        return str(_l("案件 %(id)s", id=chain[len("case:"):]))
    return str(_l("系统记录链")) if chain == "system" else (chain or "")


def formatters() -> dict[str, Any]:
    """Flask-Admin ``column_formatters`` for AuditEvent: action, chain and actor in words."""
    return {
        "action": lambda view, context, model, name: action_label(model.action),
        "chain": lambda view, context, model, name: chain_label(model.chain),
        "actor": lambda view, context, model, name: actor_name(model.actor),
        "data": lambda view, context, model, name: Markup("<code>") + escape(str(model.data)) + Markup("</code>"),
    }
