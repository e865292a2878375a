"""XML names as the deploy checks compare them: an element's tag without its namespace.

Why a module of its own: every check module walks lxml trees of BPMN and DMN files written by
different tools, each with its own namespace prefixes; they all compare local names, once, here.
"""

from __future__ import annotations

from typing import Any


def local_name(node: Any) -> str:
    """``{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask`` → ``userTask``; "" for comments,
    processing instructions and ``None``."""
    tag = getattr(node, "tag", None)
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
