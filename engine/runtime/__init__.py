"""Engine commands: each one database transaction (ARCHITECTURE.md "Runtime rules")."""

from engine.runtime.cases import resume_case, start_case, suspend_case, terminate_case
from engine.runtime.messages import send_message
from engine.runtime.tasks import claim_task, complete_task, reassign_task, unclaim_task
from engine.runtime.timers import fire_due_timers, mark_deadlines, retry_instance

suspend = suspend_case
resume = resume_case
terminate = terminate_case

__all__ = [
    "claim_task", "complete_task", "fire_due_timers", "mark_deadlines", "reassign_task", "resume", "resume_case",
    "retry_instance", "send_message", "start_case", "suspend", "suspend_case", "terminate", "terminate_case",
    "unclaim_task",
]
