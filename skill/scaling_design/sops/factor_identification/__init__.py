"""Factor identification: which axes a scaling study varies, what it measures, what it holds
fixed, what it re-tunes with scale, and how it counts parameters and FLOPs.

Deterministic expert rules over the table ``knowledge/factors.toml``. The scaling type is
taken from the input or inferred from keywords of the question (the output says which
words decided it).

The package by concern: ``models`` (Input, Output and their parts), ``inference`` (the scaling
type from the question, axis names), ``procedure`` (the scaling rules and ``run``).
"""
from __future__ import annotations

from .inference import infer_scaling_type, resolve_axis
from .models import (
    MAX_BUDGET_FLOPS, MAX_BUDGET_GPU_HOURS, SCALING_TYPES, SYSTEMS, Axis, Control, Convention, DefaultUsed, Finding,
    Input, Interaction, Output, Response, check_scaling_type)
from .procedure import run

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "Axis", "Response", "Control", "Interaction",
           "Convention", "DefaultUsed", "Finding", "check_scaling_type", "infer_scaling_type", "resolve_axis",
           "SCALING_TYPES", "SYSTEMS", "MAX_BUDGET_FLOPS", "MAX_BUDGET_GPU_HOURS"]

DESCRIPTION = """
First step of a scaling study. Give the research question (and, if known, the scaling type,
architecture family, axes already chosen and the budget). Returns the scaling axes to vary
(independent_variables, each with definition, unit, counting convention, why and a suggested
minimum/maximum range), the responses to measure (dependent_variables), what to hold fixed and
what to re-tune with scale with the rule (control_variables: schedule length = run length, warmup,
batch size, learning rate or muP), expected interactions with justification, the parameter and
FLOP counting conventions, and warnings (e.g. parameter counting not stated). The scaling type is
inferred from keywords of the question when absent, and the output says so. Next: call
level_specification with these axes (factors = the independent_variables' name/minimum/maximum/unit),
then metric_specification.
"""

EXAMPLE = {
    "question": "How does validation loss scale with model size when every model sees the same 20B tokens?",
    "system": "decoder_only_transformer",
    "budget_gpu_hours": 5000,
    "hardware": "H100",
}
