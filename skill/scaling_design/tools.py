"""The one registry of tools. The MCP server and the CLI are built from it.

Each step module defines:
    Input        pydantic model, flat fields with descriptions, units, bounds, defaults
    Output       pydantic model (structured output)
    run(inp)     the pure function Input -> Output
    DESCRIPTION  for an agent: when to use the tool and what it returns
    EXAMPLE      a documented example input (dict) that the tests call the tool with
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import Any, Callable

from pydantic import BaseModel, Field, create_model

from . import limits
from .finite import refuse_non_finite

__all__ = ["ToolSpec", "TOOLS", "get_tool", "tool_names"]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    module_path: str
    read_only: bool = True
    idempotent: bool = True
    long_running: bool = False  # reports progress

    @cached_property
    def module(self) -> ModuleType:
        return importlib.import_module(self.module_path)

    @cached_property
    def input_model(self) -> type[BaseModel]:
        """The step's Input model; one without its own time_limit_s gets the common one (see limits)."""
        model = self.module.Input
        if "time_limit_s" in model.model_fields:
            return model
        return create_model(model.__name__, __base__=model, __module__=model.__module__, time_limit_s=(float, Field(
            limits.DEFAULT_TIME_LIMIT_S, gt=0, le=limits.MAX_TIME_LIMIT_S,
            description="Wall-clock bound on the whole call, seconds; past it the call is refused.")))

    @property
    def output_model(self) -> type[BaseModel]:
        return self.module.Output

    @property
    def function(self) -> Callable[[BaseModel], BaseModel]:
        return self.module.run

    @property
    def description(self) -> str:
        return self.module.DESCRIPTION.strip()

    @property
    def example(self) -> dict[str, Any]:
        return dict(self.module.EXAMPLE)

    def call(self, arguments: dict[str, Any], progress: Callable[[float, float, str], None] | None = None,
             deadline: limits.Deadline | None = None) -> BaseModel:
        """Validate the arguments with the Input model and run the step within its time_limit_s.

        The step is stopped a moment past the deadline (limits.enforced) and refused naming
        time_limit_s; a caller that may abandon the call passes its own ``deadline`` and cancels it."""
        inp = self.input_model.model_validate(arguments)
        refuse_non_finite(inp)
        deadline = deadline or limits.Deadline(inp.time_limit_s)
        with limits.enforced(deadline, self.name), limits.call_deadline(deadline):
            if not self.long_running:
                return self.function(inp)

            def report(done: float, total: float, message: str = "") -> None:
                if deadline.cancelled:  # the deadline itself is the step's to keep: it returns what it has
                    deadline.check(self.name)
                if progress is not None:
                    progress(done, total, message)
            return self.function(inp, progress=report)


_P = "scaling_design."
TOOLS: dict[str, ToolSpec] = {spec.name: spec for spec in (
    ToolSpec("factor_identification", _P + "sops.factor_identification"),
    ToolSpec("level_specification", _P + "sops.level_specification"),
    ToolSpec("metric_specification", _P + "sops.metric_specification"),
    ToolSpec("sample_size_estimation", _P + "sops.sample_size_estimation", long_running=True),
    ToolSpec("design_matrix_construction", _P + "sops.design_matrix_construction"),
    ToolSpec("statistical_method_selection", _P + "tactics.statistical_method_selection"),
    ToolSpec("budget_constrained_design", _P + "tactics.budget_constrained_design", long_running=True),
    ToolSpec("scaling_design", _P + "strategy", long_running=True),
    ToolSpec("fit_scaling_law", _P + "analysis.fit_scaling_law", long_running=True),
    ToolSpec("compute_optimal_allocation", _P + "analysis.compute_optimal_allocation"),
    ToolSpec("isoflop_analysis", _P + "analysis.isoflop_analysis"),
    ToolSpec("downstream_prediction", _P + "analysis.downstream_prediction"),
)}


def tool_names() -> list[str]:
    return list(TOOLS)


def get_tool(name: str) -> ToolSpec:
    if name not in TOOLS:
        raise KeyError(f"tool must be one of {tool_names()}; got {name!r}")
    return TOOLS[name]
