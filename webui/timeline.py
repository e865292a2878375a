"""The case timeline: audit events told as who did what, when (全过程记录, 法 Art. 47)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from engine import clock
from engine.documents.service import METHOD_LABELS
from engine.models import AuditEvent, User
from engine.runtime.party import LABELS as PARTY_LABELS

from .i18n import PROCEDURES

ACTIONS = {
    "case.started": _l("登记案件"),
    "case.suspended": _l("中止案件"),
    "case.resumed": _l("恢复办理"),
    "case.terminated": _l("终止案件"),
    "case.closed": _l("结案"),
    "case.clock_start": _l("办案期限开始计算"),
    "case.clock_pause": _l("办案期限暂停计算"),
    "case.clock_resume": _l("办案期限恢复计算"),
    "case.clock_stop": _l("办案期限停止计算"),
    "case.clock_extended": _l("延长办案期限"),
    "case.clock_overdue": _l("办案期限届满"),
    "case.excluded_period_started": _l("登记不计入办案期限的期间"),
    "case.excluded_period_ended": _l("不计入办案期限的期间结束"),
    "case.handlers_designated": _l("重新指定承办人"),
    "recusal.requested": _l("登记回避申请"),
    "recusal.decided": _l("作出回避决定"),
    "task.created": _l("生成任务"),
    "task.claimed": _l("认领任务"),
    "task.unclaimed": _l("释放任务"),
    "task.assigned": _l("分派给指定承办人"),
    "comment.added": _l("发表办理意见"),
    "delivery.settings_changed": _l("修改通知发送设置"),
    "task.reassigned": _l("改派任务"),
    "task.released": _l("任务退回待办池"),
    "task.completed": _l("办结任务"),
    "task.cancelled": _l("撤销任务"),
    "task.returned": _l("退回重办"),
    "task.near": _l("任务临期"),
    "task.overdue": _l("任务超期"),
    "timer.fired": _l("期限届满，流程自动推进"),
    "message.received": _l("收到消息"),
    "deadline.reapplied": _l("重新计算期限"),
    "deadline.recomputed": _l("按新录入的节假日安排重算暂定期限"),
    "document.issued": _l("出具文书"),
    "document.voided": _l("文书作废"),
    "document.served": _l("登记文书送达"),
    "document.superseded": _l("文书已更正"),
    "document_template.changed": _l("修改文书模板"),
    "evidence.registered": _l("登记证据"),
    "evidence.withdrawn": _l("撤回证据"),
    "evidence.upload_started": _l("开始上传证据文件"),
    "case.clock_reopened": _l("决定未成立，办案期限继续计算"),
    "form_number.used": _l("使用预编号决定书"),
    "form_number.voided": _l("登记作废的预编号决定书"),
    "form_numbers.allocated": _l("分配号段"),
    "form_numbers.withdrawn": _l("收回号段"),
    "case.exported": _l("导出案卷"),
    "instance.migrated": _l("迁移流程版本"),
    "publication.published": _l("公示处罚决定"),
    "publication.withheld": _l("依法不予公示"),
    "publication.withdrawal_requested": _l("申请撤回公示"),
    "publication.withdrawn": _l("撤回公示"),
    "publication.expired": _l("公示期满"),
    "incident.opened": _l("流程异常"),
    "incident.retried": _l("重试异常流程"),
    "case.party_updated": _l("更正当事人信息"),
    "agency.created": _l("新建行政机关"),
    "agency.updated": _l("修改行政机关设置"),
    "agency.units_assigned": _l("调整行政机关所属单位"),
}

OTHER = _l("系统记录")


@dataclass
class TimelineEntry:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    data: dict[str, Any]


def describe_event(event: AuditEvent, users: dict[str, User]) -> TimelineEntry:
    user = users.get(event.actor)
    data = event.data if isinstance(event.data, dict) else {}
    subject = _subject(event.action, data)
    return TimelineEntry(
        seq=event.seq,
        at=event.at.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M"),
        actor=(user.display_name or user.username) if user else event.actor,
        # An action without a label (a new kind of event) is never shown by its code in the Chinese UI.
        action=str(ACTIONS.get(event.action, OTHER)),
        subject=subject,
        data=data,
    )


def _subject(action: str, data: dict[str, Any]) -> str:
    """What the event is about; a return and a voiding say why (the rule and article), in the record itself."""
    if action == "task.returned":
        return f"{data.get('task') or ''}：{data.get('reason') or ''}"
    if action in ("evidence.registered", "evidence.withdrawn", "evidence.upload_started"):
        what = f"{data.get('seq') or ''} {data.get('filename') or ''}".strip()
        return f"{what}：{data.get('reason')}" if action == "evidence.withdrawn" else what
    if action == "document.voided":
        return f"{data.get('document_type') or ''} {data.get('number') or ''}：{data.get('reason') or ''}"
    if action == "document.served":  # which document was served, how, when, on whom (no new document)
        method = METHOD_LABELS.get(str(data.get("method")), "")
        return (f"{data.get('document_type') or ''} {data.get('number') or ''}：{method} "
                f"{data.get('served_on') or ''} {data.get('recipient') or ''}").strip()
    if action == "document.superseded":
        return f"{data.get('document_type') or ''} {data.get('number') or ''} → {data.get('superseded_by') or ''}"
    if action == "comment.added":
        return f"{data['task']}：{data.get('comment') or ''}" if data.get("task") else str(data.get("comment") or "")
    if action == "case.party_updated":  # which details changed (values masked in the record itself) and why
        changed = "、".join(PARTY_LABELS.get(str(key), str(key)) for key in data.get("changed") or [])
        return f"{changed}：{data.get('reason') or ''}"
    if action == "case.clock_reopened":
        return str(data.get("why") or "")
    return str(data.get("task") or PROCEDURES.get(str(data.get("procedure")), data.get("procedure") or "")
               or data.get("reason") or "")
