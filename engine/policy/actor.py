"""Who runs a command: an officer (a ``User``) or the platform itself (a ``SystemActor``).

Every engine command takes its actor as its first argument, of type ``Actor``. A person is always
the ``User`` row — never a bare username — so that the command itself can check roles, unit and
credentials (engine/policy/permissions.py) and a script calling the engine cannot skip them.

The platform acts without a person behind it: the scheduler (``system``), ``zhifa deploy`` and the
other CLI commands (``cli``), the demo seed, the benchmarks. Those callers are the installation's
operator, who holds the database anyway; the permission policy lets them through and the record
names them. ``SystemActor`` has the few attributes commands read from an actor.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.models import User


@dataclass(frozen=True)
class SystemActor:
    username: str = "system"
    id: None = None
    unit_id: None = None

    def has_role(self, *_names: str) -> bool:
        return False  # the platform holds no role; the permission policy admits it as the operator


Actor = User | SystemActor
SYSTEM = SystemActor()


def as_actor(actor: Actor | str) -> Actor:
    """A script names itself with a string (``deploy_bundle(bundle, "cli")``): the platform acting
    under that name. Officers are passed as ``User`` rows, never by name."""
    return SystemActor(actor) if isinstance(actor, str) else actor
