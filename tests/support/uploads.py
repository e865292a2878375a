"""Upload content that once broke the deploy path: shared by the upload fuzzer and the pinned regressions."""

from __future__ import annotations


def nested_schema(depth: int) -> bytes:
    """A form whose schema nests ``depth`` objects: parses, but overflows a recursive meta-schema check."""
    level = '{"type": "object", "properties": {"a": '
    return ('{"type": "object", "properties": {"x": ' + level * depth + '{"type": "string"}' + "}}" * depth + "}}").encode()
