"""The script engine SpiffWorkflow is given: checked, guarded, compiled code run without builtins."""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Collection, Mapping
from types import CodeType
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import UnsafeExpression
from engine.expressions.bounds import FORBIDDEN_NAMES, MAX_DATA_SIZE, Mode
from engine.expressions.checker import assigned_names, check_expression
from engine.expressions.functions import SAFE_FUNCTIONS
from engine.expressions.guards import Guard, check_weight, guards
from engine.expressions.storable import storable_data, storable_value


@functools.lru_cache(maxsize=2048)
def compile_restricted(source: str, mode: Mode = "eval") -> CodeType:
    """Check, add the run-time guards, compile; cached so the hot path never re-parses.

    The cache is bounded (LRU) because DMN builds ``(input) == (cell)`` strings and designers deploy
    new versions; a few thousand distinct expressions cover every deployed procedure.
    """
    tree = check_expression(source, mode)
    guarded = ast.fix_missing_locations(Guard().visit(tree))
    try:
        # "<string>" is the file name SpiffWorkflow looks for to report the failing script line.
        return compile(guarded, "<string>", mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:  # e.g. 'return' outside def
        raise UnsafeExpression(f"无法编译表达式: {err} (cannot compile expression: {err})", details={"reason": "compile"}) from err


@functools.lru_cache(maxsize=2048)
def script_bindings(script: str) -> frozenset[str]:
    """The names a (checked) script assigns or deletes in task data."""
    return frozenset(name for name, _line in assigned_names(ast.parse(script, mode="exec")))


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, running only checked code without builtins.

    Keeps ``TaskDataEnvironment`` semantics: expressions see functions, then the external context,
    then task data (task data wins); scripts assign straight into task data and the functions are
    removed afterwards. ``functions`` (e.g. the calendar's ``deadline``) are merged over
    :data:`SAFE_FUNCTIONS`.

    ``protected`` names task data the engine sets from the case row (case number, party...) and
    ``protected_values`` gives their true values, read only when needed: after a script that binds
    one of those names (the deploy-time lint refuses such scripts; this is the second line of
    defence), the true values are put back, so no later step or page sees a forged one.

    After every script the task data is normalised so it can be saved (``storable``: sets become
    sorted lists, generators are refused...) and its size is checked.
    """

    def __init__(
        self,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        *,
        protected: Collection[str] = (),
        protected_values: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        extra = dict(functions or {})
        for name, function in extra.items():
            if not name.isidentifier() or name.startswith("_") or name in FORBIDDEN_NAMES:
                raise ValueError(f"cannot expose a function as {name!r} to expressions")
            if not callable(function):
                raise TypeError(f"expression function {name!r} is not callable")
        super().__init__({**SAFE_FUNCTIONS, **extra})
        self._function_names = frozenset(self.globals)
        self._protected = frozenset(protected)
        self._protected_values = protected_values
        self._true_values: Mapping[str, Any] | None = None

    @property
    def function_names(self) -> frozenset[str]:
        return self._function_names

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None) -> Any:
        code = compile_restricted(expression, "eval")
        self._prepare_context(context)
        scope = {**self.globals, **(external_context or {}), **context, **guards()}
        result = eval(code, scope)  # noqa: S307 - checked, guarded code; builtins emptied by guards()
        check_weight(result, MAX_DATA_SIZE, "表达式结果", "expression result")
        return storable_value(result)

    def execute(self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None) -> bool:
        code = compile_restricted(script, "exec")  # reject before touching the task data
        self.check_for_overwrite(context, external_context or {})
        self._prepare_context(context)
        context.update(self.globals)
        context.update(external_context or {})
        context.update(guards())
        try:
            exec(code, context)  # noqa: S102 - checked, guarded code; builtins emptied by guards()
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        self._restore_protected(script, context)
        check_weight(context, MAX_DATA_SIZE, "脚本产生的任务数据", "task data after the script")
        storable_data(context)
        return True

    def _restore_protected(self, script: str, context: dict[str, Any]) -> None:
        touched = self._protected & script_bindings(script)
        if not touched:
            return
        if self._true_values is None:
            self._true_values = dict(self._protected_values()) if self._protected_values is not None else {}
        for name in touched:
            if name in self._true_values:
                context[name] = self._true_values[name]
            else:
                context.pop(name, None)


class RestrictedScriptEngine(PythonScriptEngine):
    """The script engine every zhifa workflow gets (set it again after each deserialize).

    A limit or allow-list refusal raised while running a task's script or expression is reported
    with the task's name and id, so the officer and the designer know which step of the procedure
    refused (the runtime turns it into a 422 and rolls the whole command back).
    """

    environment: RestrictedEnvironment

    def __init__(self, environment: RestrictedEnvironment | None = None) -> None:
        environment = environment if environment is not None else RestrictedEnvironment()
        if not isinstance(environment, RestrictedEnvironment):
            raise TypeError("RestrictedScriptEngine needs a RestrictedEnvironment")
        super().__init__(environment)

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except UnsafeExpression as err:
            named = _naming_task(err, task, "脚本任务", "script of task")
            raise self.create_task_exec_exception(task, script, named) from named
        except Exception as err:  # noqa: BLE001 - SpiffWorkflow's own wrapping, as in PythonScriptEngine
            raise self.create_task_exec_exception(task, script, err) from err

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except UnsafeExpression as err:
            named = _naming_task(err, task, "任务", "task")
            raise WorkflowTaskException(f"Error evaluating expression '{expression}'", task=task, exception=named) from named
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:  # noqa: BLE001 - SpiffWorkflow's own wrapping, as in PythonScriptEngine
            raise WorkflowTaskException(f"Error evaluating expression '{expression}'", task=task, exception=err) from err

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        """zhifa has no service operators (the deploy check refuses service tasks); a service task
        deployed before that rule fails here, named, instead of SpiffWorkflow's NotImplementedError
        followed by a NameError in its own error handling (an HTTP 500 on every retry)."""
        raise WorkflowTaskException(
            "zhifa 不运行服务任务 (zhifa does not run service tasks): 请把它改为脚本任务或用户任务后重新部署 "
            "(make it a scriptTask or a userTask and deploy again)", task=task)

    def validate(self, expression: str) -> None:
        """Syntax errors stay ``SyntaxError``: DMNEngine.needs_eq relies on that to decide
        whether a cell like ``>= 100000`` needs ``==``. Anything that parses must pass the allow-list.

        DMNEngine validates every cell on every evaluation, so successful checks are cached."""
        _validate(expression, self.environment.function_names)

    def check(self, source: str, mode: Mode = "eval") -> ast.Module | ast.Expression:
        """Deploy-time lint: the allow-list plus "calls only functions this engine provides"."""
        return check_expression(source, mode, functions=self.environment.function_names)


def _naming_task(err: UnsafeExpression, task: Any, chinese: str, english: str) -> UnsafeExpression:
    spec = getattr(task, "task_spec", None)
    bpmn_id = getattr(spec, "bpmn_id", None) or getattr(spec, "name", "?")
    name = getattr(spec, "bpmn_name", None) or bpmn_id
    details = dict(err.details) if isinstance(err.details, dict) else {"details": err.details}
    details["task"] = bpmn_id
    return UnsafeExpression(f"{chinese}「{name}」({english} {bpmn_id})：{err.message}", details=details)


@functools.lru_cache(maxsize=2048)
def _validate(expression: str, functions: frozenset[str]) -> None:
    try:
        ast.parse(expression, mode="eval")
        mode: Mode = "eval"
    except SyntaxError:
        ast.parse(expression, mode="exec")  # not even a script: the SyntaxError DMN expects
        mode = "exec"
    check_expression(expression, mode, functions=functions)


def make_script_engine(
    functions: Mapping[str, Callable[..., Any]] | None = None,
    *,
    protected: Collection[str] = (),
    protected_values: Callable[[], Mapping[str, Any]] | None = None,
) -> RestrictedScriptEngine:
    """A restricted engine with :data:`SAFE_FUNCTIONS` plus ``functions`` (e.g. deadline helpers);
    ``protected``/``protected_values``: see :class:`RestrictedEnvironment`."""
    return RestrictedScriptEngine(RestrictedEnvironment(functions, protected=protected, protected_values=protected_values))
