"""The strategy's Input and Output models, its description and example."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..laws.cost import MIN_MFU
from ..errors import out_of_order
from .. import knowledge
from ..sops import design_matrix_construction as dmc
from ..sops import factor_identification as fi
from ..sops import level_specification as ls
from ..sops import metric_specification as ms
from ..sops import sample_size_estimation as sse
from ..tactics import budget_constrained_design as bcd
from .run_table import FinalTable


ScalingType = Literal["data", "model", "compute_optimal", "inference"]
Verdict = Literal["ready", "needs-revision", "major-issues"]
# factor_identification's axis names -> the design matrix's column names
AXIS_COLUMN = {"parameters": "N", "active_parameters": "N", "tokens": "D", "compute": "C",
               "batch_size": "batch_size", "prompt_length": "seq_len"}
TOKENS_PER_PARAMETER_SOURCE = "Hoffmann et al. 2022: about 20 training tokens per parameter is compute-optimal"
LEVEL_RTOL = 1e-6


# The ranges the steps accept for what these fields become (budget_constrained_design's target_N, target_D and
# target_compute), so the strategy refuses a value up front, by its own field name, before any simulation.
PARAMS, TOKENS, COMPUTE = (1e4, 1e15), (1e6, 1e17), (1e12, 1e30)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=3, max_length=4000, description=(
        "The research question in plain words, e.g. 'How does validation loss scale with model size at 20B "
        "tokens?'. Decides the scaling type when scaling_type is absent."))
    scaling_type: ScalingType | None = Field(None, description=(
        "data (fixed model, growing data), model (fixed data, growing model), compute_optimal (isoFLOP: best "
        "N and D per budget) or inference (throughput/latency vs batch, prompt length). Absent: inferred from "
        "the question."))
    budget_flops: float | None = Field(None, gt=0, le=fi.MAX_BUDGET_FLOPS, allow_inf_nan=False, description=(
        "Training compute available for the whole study, FLOPs (C = 6ND per run; at most 1e30)."))
    budget_gpu_hours: float | None = Field(None, gt=0, le=1e12, allow_inf_nan=False, description=(
        "GPU-hours available for the whole study; converted with the hardware peak and mfu. Used when "
        "budget_flops is absent."))
    hardware: str = Field("H100", json_schema_extra={"enum": knowledge.hardware_names()}, description="Accelerator: A100, H100, H200, V100, TPUv4 or MI300X.")
    mfu: float | None = Field(None, ge=MIN_MFU, le=1, allow_inf_nan=False, description=(
        "Model FLOPs utilisation, 0.0001 to 1. Absent: 0.40 (knowledge default)."))
    system: Literal[fi.SYSTEMS] = Field("decoder_only_transformer", description=(  # type: ignore[valid-type]
        "Architecture family: decoder_only_transformer, moe_transformer, encoder_decoder_transformer or other."))
    parameter_counting: Literal["non_embedding", "total"] | None = Field(None, description=(
        "How parameters are counted: non_embedding (Kaplan) or total (Hoffmann; use it to compare with "
        "Chinchilla-style laws). Absent: non_embedding, with a warning."))
    scale_min: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Smallest level of the main axis (parameters, tokens or FLOPs, by scaling type). Absent: "
        "factor_identification's suggestion."))
    scale_max: float | None = Field(None, gt=0, allow_inf_nan=False, description=(
        "Largest level of the main axis, same units; must exceed scale_min. Absent: the suggestion, capped by "
        "the budget."))
    num_levels: int | None = Field(None, ge=3, le=16, description=(
        "Scale points per axis. Absent: level_specification's default inside the Budget Gate (4-8)."))
    fixed_tokens: float | None = Field(None, ge=TOKENS[0], le=TOKENS[1], allow_inf_nan=False, description=(
        "Model scaling: training tokens of every model. Absent: 20 x the largest model (it is then trained "
        "compute-optimally, the others on the same data)."))
    fixed_parameters: float | None = Field(None, ge=PARAMS[0], le=PARAMS[1], allow_inf_nan=False, description=(
        "Data scaling: parameters of the one model trained on growing data; inference: parameters of the model "
        "served. Absent: data scaling takes the largest token level / 20; inference needs it."))
    target_parameters: float | None = Field(None, ge=PARAMS[0], le=PARAMS[1], allow_inf_nan=False, description=(
        "Model scaling: the larger model whose loss the law must predict (the extrapolation target)."))
    target_tokens: float | None = Field(None, ge=TOKENS[0], le=TOKENS[1], allow_inf_nan=False, description=(
        "Data scaling: the larger token count whose loss the law must predict."))
    target_compute: float | None = Field(None, ge=COMPUTE[0], le=COMPUTE[1], allow_inf_nan=False, description=(
        "Compute-optimal scaling: the training budget (FLOPs) whose optimal N the study must pin down. Absent: "
        "100 x the largest planned budget."))
    primary_metric: str | None = Field(None, max_length=80, description=(
        "Primary metric if already chosen (e.g. 'validation loss', 'p99 latency'). Absent: held-out cross-entropy "
        "for training studies, throughput for inference."))
    downstream_tasks: list[str] = Field(default_factory=list, max_length=20, description=(
        "Downstream benchmarks to evaluate at each scale, e.g. ['HellaSwag accuracy']."))
    target_relative_error: float = Field(0.05, gt=0, lt=1, description=(
        "Precision asked of the quantity that matters (exponent, loss at the target, or N_opt): the 90th "
        "percentile of its relative error, e.g. 0.05 = 5%."))
    n_sims: int = Field(100, ge=20, le=2000, description=(
        "Simulated data sets per step of the Monte Carlo sample-size curve (more = steadier, slower)."))
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed for every random step (run order, run seeds, simulations).")
    time_limit_s: float = Field(120.0, gt=0, le=600, description="Wall-clock bound on the Monte Carlo steps, seconds.")

    @model_validator(mode="after")
    def _ranges(self) -> "Input":
        if self.scale_min is not None and self.scale_max is not None and self.scale_min >= self.scale_max:
            raise ValueError(out_of_order(self, "scale_min", "scale_max"))
        return self


class Check(BaseModel):
    name: str = Field(description="Stable check name, e.g. budget_respected.")
    passed: bool = Field(description="Whether the plan passes it.")
    severity: Literal["major", "minor", "info"] = Field(description=(
        "What a failure means: major -> major-issues, minor -> needs-revision, info -> noted only."))
    detail: str = Field(description="What was compared with what.")


class Summary(BaseModel):
    scaling_type: str = Field(description="The scaling type studied.")
    design: str = Field(description="The design built (one_axis_sweep, isoflop, inference_grid, ...).")
    scale_points: int = Field(description="Distinct settings of the main axis in the final plan (isoFLOP designs: "
                                          "the fewest model sizes of any budget).")
    compute_budgets: int | None = Field(None, description="isoFLOP designs: the number of compute budgets.")
    replicates: int = Field(description="Seeds per setting in the final plan.")
    n_runs: int = Field(description="Runs in the final plan.")
    total_flops: float | None = Field(description="Training FLOPs of the final plan (null for inference studies).")
    total_gpu_hours: float | None = Field(description="GPU-hours of the final plan at the stated hardware and MFU.")
    budget_flops: float | None = Field(description="Budget in FLOPs (given or converted from GPU-hours).")
    budget_gpu_hours: float | None = Field(description="Budget in GPU-hours (given or converted from FLOPs).")
    budget_used: float | None = Field(description="Share of the budget the plan spends.")


class Output(BaseModel):
    truncated: bool = Field(False, description="The time bound (time_limit_s) cut a step's Monte Carlo short "
                                               "(sample_size_estimation or budget_constrained_design).")
    question: str = Field(description="The research question, as given.")
    scaling_type: str = Field(description="The scaling type studied (given or inferred).")
    factor_identification: fi.Output = Field(description="Step 1: scaling axes, responses, controls, conventions.")
    level_specification: ls.Output = Field(description="Step 2: scale points per axis, with model shapes.")
    metric_specification: ms.Output = Field(description="Step 3: metrics and measurement protocol.")
    design_matrix_construction: dmc.Output = Field(description="Step 4: the run table of the final plan.")
    sample_size_estimation: sse.Output = Field(description="Step 5: replicates needed for the precision asked.")
    budget_constrained_design: bcd.Output | None = Field(description=(
        "Step 6: the runs worth doing under the budget (training studies; null for inference, whose runs are "
        "priced directly)."))
    skipped_steps: dict[str, str] = Field(default_factory=dict, description=(
        "Steps that do not apply to this scaling type, with the reason (tool name -> reason)."))
    final_plan_from: str = Field(description="Which step's run table is the plan: budget_constrained_design "
                                             "(training studies) or design_matrix_construction (inference).")
    run_table: FinalTable = Field(description=(
        "The final run table, made once: every run the plan executes (role fit or validation) with run_id, "
        "run_order, block, replicate, seed and its factor and cost columns. design.csv, the results template, the "
        "report's tables and the plots are views of it."))
    design_csv: str = Field(description="The final run table as CSV (design.csv).")
    results_template_csv: str = Field(description="The final run table with empty result columns "
                                                  "(results-template.csv), for fit_scaling_law once filled.")
    budget_gate: dict[str, Any] = Field(description="The skill's Budget Gate row for this scaling type, with source.")
    summary: Summary = Field(description="The final plan in numbers.")
    checks: list[Check] = Field(description="Consistency checks of the whole plan.")
    verdict: Verdict = Field(description="ready, needs-revision (minor check failed) or major-issues.")
    reasons: list[str] = Field(description="Why the verdict: each failed check, and what to change.")
    defaults_used: list[fi.DefaultUsed] = Field(description="Defaults the strategy chose, with sources.")
    warnings: list[dict[str, Any]] = Field(description="Warnings of every step, each with the step's name.")
    report_markdown: str = Field(description="The whole plan as a markdown report (a section per step).")
    # the record an orchestrating skill reads (the upstream skill's strategy output, plus what a caller such as an
    # experiment-design strategy reads)
    scaling_axes: list[dict[str, Any]] = Field(description="The scaling axes: name, kind, minimum, maximum, unit.")
    fitting_model: dict[str, Any] = Field(description=(
        "How the results are analysed, from statistical_method_selection: form, objective, procedure, source."))
    controlled_variables: list[dict[str, Any]] = Field(description="What is held fixed or co-tuned per scale.")
    metrics: dict[str, Any] = Field(description="Primary and secondary metric names.")
    validation_point: dict[str, Any] | None = Field(description=(
        "The held-out run(s) scored after the fit: axis, value, the N/D/C of the run and its run_ids (null when "
        "the plan has none)."))
    extrapolation_target: dict[str, Any] | None = Field(description=(
        "The scale the law must predict: axis, value and quantity (loss, n_opt); null for inference."))
    total_runs: int = Field(description="Runs in the final run table (fit and validation).")
    estimated_total_flops: float | None = Field(description="Training FLOPs of every run in the final table "
                                                            "(null for inference studies).")
    estimated_gpu_hours: float | None = Field(description="GPU-hours of every run in the final table.")
    significance_threshold: float | None = Field(description="alpha of the metric protocol's tests (e.g. 0.05).")


DESCRIPTION = """
The whole scaling-design strategy in one call: give the research question, the scaling type (data,
model, compute_optimal, inference; inferred when absent), the budget (budget_flops or budget_gpu_hours
with hardware) and the target scale. Runs factor_identification, level_specification,
metric_specification, design_matrix_construction, sample_size_estimation and
budget_constrained_design in order, each fed by the ones before, then checks the plan (every factor in
the run table, levels as specified, enough replicates, budget respected, Budget Gate met). Returns
every step's output under its tool name, a verdict (ready, needs-revision, major-issues) with reasons,
and report_markdown. Next: run the plan, fill the results template, then fit_scaling_law and
compute_optimal_allocation.
"""

EXAMPLE: dict[str, Any] = {
    "question": "How does validation loss scale with model size when every model sees the same 20B tokens?",
    "scaling_type": "model",
    "budget_gpu_hours": 5000,
    "hardware": "H100",
    "fixed_tokens": 2e10,
    "target_parameters": 7e9,
    "n_sims": 60,
    "seed": 0,
}
