"""The script engine SpiffWorkflow runs diagram code with: every expression and script goes to the sandbox."""
from __future__ import annotations


from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine import sandbox
from engine.bpmn import io_mapping, juel, timekeeping  # noqa: F401 - SpiffWorkflow's timers read the step's clock


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs diagram expressions and scripts in the sandbox, with the sales helpers in scope."""

    def evaluate(self, expression, context, external_context=None):
        extra = {**self.globals, **(external_context or {})}
        return sandbox.evaluate(expression, context, extra)

    def execute(self, script, context, external_context=None):
        extra = {**self.globals, **(external_context or {})}
        sandbox.execute(script, context, extra)
        return True

    def call_service(self, context, **kwargs):
        raise NotImplementedError("service tasks are not supported yet")


class ScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's engine, setting a script task's camunda:inputOutput around its script."""

    def execute(self, task, script, external_context=None):
        io = task._get_internal_data("io")  # io_mapping.around_script put it there for this run
        if not io:
            return super().execute(task, script, external_context)
        evaluate = self.environment.evaluate
        prior = io_mapping.open_task(io, task.data, evaluate)
        result = super().execute(task, script, external_context)
        io_mapping.complete_task(io, task.data, prior, evaluate)
        task.internal_data.pop("io", None)
        return result


def make_script_engine(helpers: dict) -> PythonScriptEngine:
    """The script engine every workflow runs with (Camunda's date built-ins too, for translated JUEL)."""
    return ScriptEngine(environment=SandboxedEnvironment({**juel.HELPERS, **helpers}))


def evaluator(script_engine):
    """evaluate(expression, context): the script engine's sandboxed evaluation, with the helpers in scope."""
    return script_engine.environment.evaluate


def helper_names(script_engine) -> set[str]:
    """The names of the helper functions diagram expressions may call."""
    return set(script_engine.environment.globals)
