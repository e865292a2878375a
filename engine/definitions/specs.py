"""Parsed specs by deployment: deserialized once per process, then shared read-only."""

from __future__ import annotations

import threading

from sqlalchemy import select

from engine.db import caches
from engine.deadlines.reference import ActiveSpec, reference
from engine.definitions.hitpolicy import honour_hit_policies
from engine.definitions.serialization import Specs, specs_from_json
from engine.errors import NotFound
from engine.models import ProcessSpec, db

_cache: dict[int, Specs] = {}
_lock = threading.Lock()


def load_specs(process_spec_id: int) -> Specs:
    """Specs of a stored process; deployments are immutable, so the cache never goes stale."""
    specs = _cache.get(process_spec_id)
    if specs is None:
        row = db.session.get(ProcessSpec, process_spec_id)
        if row is None:
            raise NotFound(f"流程定义 {process_spec_id} 不存在 (process spec not found)")
        specs = specs_from_json(row.spec_json)
        # The serializer rebuilds SpiffWorkflow's plain DMN engine, which does not stop at the
        # first match under hit policy FIRST.
        honour_hit_policies([specs[0], *specs[1].values()])
        with _lock:
            _cache.setdefault(process_spec_id, specs)
    return specs


def active_spec(process_id: str) -> ActiveSpec:
    """The spec new cases of ``process_id`` start on (ids only: specs come from the cache)."""
    active = reference().active.get(process_id)
    if active is None:
        raise NotFound(f"流程 '{process_id}' 尚未部署 (process not deployed)")
    return active


@caches.register
def clear_cache() -> None:
    """Forget parsed specs (tests that reset the database reuse ids)."""
    with _lock:
        _cache.clear()
        _deployment_of.clear()


_deployment_of: dict[int, int] = {}


def deployment_of(process_spec_id: int) -> int:
    """The deployment a stored spec belongs to (immutable, so remembered once read)."""
    deployment_id = _deployment_of.get(process_spec_id)
    if deployment_id is None:
        deployment_id = db.session.connection().execute(
            select(ProcessSpec.deployment_id).where(ProcessSpec.id == process_spec_id)
        ).scalar_one()
        _deployment_of[process_spec_id] = deployment_id
    return deployment_id
