"""Roles: the lanes of the procedures, plus the people who run the platform."""

from __future__ import annotations

# Lanes of every procedure (DOMAIN.md "Roles"); a user task's lane names the role that may take it.
LANE_ROLES: dict[str, str] = {
    "handler": "承办人",
    "unit_head": "承办机构负责人",
    "legal_reviewer": "法制审核人员",
    "hearing_host": "听证主持人",
    "hearing_clerk": "听证记录员",
    "agency_head": "行政机关负责人",
}
SYSTEM_ROLES: dict[str, str] = {
    "process_designer": "流程设计人员",
    "administrator": "系统管理员",
    "supervisor": "执法监督人员",
}
ALL_ROLES: dict[str, str] = {**LANE_ROLES, **SYSTEM_ROLES}

# Extension properties a user task may carry (ARCHITECTURE.md "Runtime rules").
TASK_PROPERTIES = frozenset({"form", "time_limit", "counts_from", "counts_from_label", "extended_by", "requires_credential",
                             "separate_from", "document", "service", "evidence_list"})
CREDENTIAL_KINDS: dict[str, str] = {"law_enforcement": "执法证", "legal_qualification": "法律职业资格"}
