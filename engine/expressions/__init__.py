"""The one restricted evaluator for every BPMN condition, timer expression, DMN cell and script task.

Why this exists: designers upload BPMN/DMN files, and SpiffWorkflow runs every expression in them with
plain ``eval``/``exec`` and full builtins. An expression must never reach the OS, the interpreter's
internals or unbounded memory/CPU, so zhifa gives SpiffWorkflow this evaluator instead:

1. **Allow-list of syntax** (:func:`check_expression`). The source is parsed and every AST node must be
   of an allowed type: literals, names, arithmetic/comparison/boolean operators, if-expressions,
   subscripts, displays, comprehensions, f-strings, calls to plain names or to a short list of
   harmless methods; scripts may also assign, ``if``, ``for``, ``pass``/``break``/``continue`` and
   ``del``. Everything else (import, def, class, lambda, while, try, with, walrus, global, ...) is
   rejected with a reason in Chinese and English. Names and attributes starting with ``_`` never
   pass, so no dunder reaches ``__class__``/``__globals__``/``__subclasses__``; attributes must be
   on :data:`ALLOWED_ATTRIBUTES`; ``str.format``/``format_map`` are refused because their field syntax
   (``'{0.__class__}'``) performs attribute lookups the AST cannot see. Dangerous builtin names
   (:data:`FORBIDDEN_NAMES`) are rejected even though they could not resolve anyway: the designer
   gets a clear deploy-time error instead of a runtime ``NameError``. A consequence worth knowing:
   task-data fields cannot be called ``type``, ``input``, ``object``, ... in expressions.
2. **No builtins at run time**. Code runs with ``__builtins__`` set to an empty dict; the only callables
   are :data:`SAFE_FUNCTIONS` plus the extra functions given to :func:`make_script_engine`.
3. **Run-time guards for what the AST cannot decide**. The checked tree is rewritten before it is
   compiled: attribute reads go through a per-type allow-list; ``*``, ``**``, ``+`` and ``%`` go through
   functions that refuse results above :data:`MAX_SIZE` characters, :data:`MAX_ITEMS` items or :data:`MAX_INT_BITS`
   bits *before* computing them (``'a' * n`` with ``n`` from task data, ``x = x * x`` in a loop,
   ``'%999999999d' % 1``, ``('%(a)s' * 200000) % {'a': s}``); unpacking (``[*a, *a]``, ``{**d}``,
   ``f(*a)``), f-strings and ``strftime`` are bounded the same way; every loop step, call and guarded
   operation draws from one per-evaluation budget of :data:`MAX_ITERATIONS` steps and
   :data:`MAX_SECONDS` seconds of CPU (nested loops or chained operations cannot multiply into hours);
   ``range`` is capped at :data:`MAX_RANGE`; rendering (``str()``, f-strings, ``%``) refuses values
   whose text would exceed :data:`MAX_SIZE`. Without these a single uploaded expression could
   exhaust the server's memory or pin a worker forever, which is a denial of service for every case.
   Constant bombs (``9**9**9**9``, ``'a' * 10**10``) are already caught at deploy time.

4. **Storable results**. After a script, task data is normalised so it can be saved (sets become sorted
   lists, ranges lists; generators, NaN and other unstorable values are refused naming the field), and
   names the engine sets from the case row are put back if a script rebound them (:mod:`.storable`,
   :class:`RestrictedEnvironment`).

The package is split by job: :mod:`.bounds` (the limits), :mod:`.checker` (the static check),
:mod:`.guards` (the run-time guards and budget), :mod:`.functions` (what expressions may call),
:mod:`.storable` (what task data may hold), :mod:`.environment` (the SpiffWorkflow script engine) and
:mod:`.templates` (the same limits for task instructions, a Jinja sandbox).

Compiled code objects are cached by ``(source, mode)`` (:func:`compile_restricted`), so the checks run
once per distinct expression; the hot path is a dict lookup plus ``eval``.

Allow-list violations raise :class:`~engine.errors.UnsafeExpression`; so do the size and time limits.
Ordinary runtime errors inside an allowed expression (``NameError``, ``TypeError``,
``ZeroDivisionError``...) propagate unchanged, and SpiffWorkflow wraps them in
``WorkflowTaskException`` as usual.
"""

from __future__ import annotations

from engine.expressions.bounds import (
    ALLOWED_ATTRIBUTES,
    FORBIDDEN_NAMES,
    MAX_ALLOCATED,
    MAX_DATA_SIZE,
    MAX_DECIMAL_EXPONENT,
    MAX_DEPTH,
    MAX_FORMAT_WIDTH,
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_ITERATIONS,
    MAX_NESTING,
    MAX_NODES,
    MAX_RANGE,
    MAX_ROUND_DIGITS,
    MAX_SECONDS,
    MAX_SIZE,
    MAX_SOURCE_CHARS,
    MAX_STRFTIME_CHARS,
    Mode,
)
from engine.expressions.checker import assigned_names, check_expression
from engine.expressions.environment import (
    RestrictedEnvironment,
    RestrictedScriptEngine,
    compile_restricted,
    make_script_engine,
    script_bindings,
)
from engine.expressions.functions import SAFE_FUNCTIONS, now, parse_date, parse_datetime, today
from engine.expressions.storable import non_finite_fields, refuse_non_finite, storable_data, storable_value

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "MAX_ALLOCATED",
    "FORBIDDEN_NAMES",
    "MAX_DATA_SIZE",
    "MAX_DECIMAL_EXPONENT",
    "MAX_DEPTH",
    "MAX_FORMAT_WIDTH",
    "MAX_INT_BITS",
    "MAX_ITEMS",
    "MAX_ITERATIONS",
    "MAX_NESTING",
    "MAX_NODES",
    "MAX_RANGE",
    "MAX_ROUND_DIGITS",
    "MAX_SECONDS",
    "MAX_SIZE",
    "MAX_SOURCE_CHARS",
    "MAX_STRFTIME_CHARS",
    "SAFE_FUNCTIONS",
    "Mode",
    "RestrictedEnvironment",
    "RestrictedScriptEngine",
    "assigned_names",
    "check_expression",
    "compile_restricted",
    "make_script_engine",
    "non_finite_fields",
    "now",
    "parse_date",
    "parse_datetime",
    "refuse_non_finite",
    "script_bindings",
    "storable_data",
    "storable_value",
    "today",
]
