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

from pydantic import BaseModel

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

    @property
    def input_model(self) -> type[BaseModel]:
        return self.module.Input

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

    def call(self, arguments: dict[str, Any], progress: Callable[[float, float, str], None] | None = None) -> BaseModel:
        """Validate the arguments with the Input model and run the step."""
        inp = self.input_model.model_validate(arguments)
        if progress is not None and self.long_running:
            return self.function(inp, progress=progress)
        return self.function(inp)


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
)}


def tool_names() -> list[str]:
    return list(TOOLS)


def get_tool(name: str) -> ToolSpec:
    if name not in TOOLS:
        raise KeyError(f"tool must be one of {tool_names()}; got {name!r}")
    return TOOLS[name]
