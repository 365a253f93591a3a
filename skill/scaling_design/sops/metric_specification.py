"""Metric specification: what to measure at each scale point, how, and how to report it.

Rules over ``knowledge/metrics.toml``: training studies measure held-out cross-entropy at the
end of the schedule (bits per byte when tokenizers differ) plus cost and seed noise;
downstream tasks get continuous proxies and a warning when a discontinuous metric is asked
for; inference studies measure throughput, TTFT, time per output token, latency p50/p99 and
cost per token under a warm-up and replicate protocol.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .. import knowledge
from .factor_identification import SCALING_TYPES, DefaultUsed, Finding, check_scaling_type
from .metric_protocols import scaling_protocol, scaling_reporting
from .metric_general import (GENERAL_REPLICATES, GENERAL_REPLICATES_SOURCE, general_protocol, general_reporting,
                             general_significance)

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "Metric", "find_metric"]

TRAINING_TYPES = ("data", "model", "compute_optimal", "custom")
Domain = Literal["language_modeling", "code", "downstream_tasks", "vision", "speech", "other"]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    study_kind: Literal["scaling", "general"] = Field(
        "scaling", description="scaling (default): a scaling study, scaling_type required; general: a comparison of "
                               "conditions (ablation, hyperparameter or architecture choice) with n_conditions.")
    scaling_type: str | None = Field(None, json_schema_extra={"enum": [*SCALING_TYPES, None]}, description="One of data, model, compute_optimal, inference, custom "
                                                       "(required when study_kind is scaling).")
    n_conditions: int | None = Field(None, ge=2, le=100, description="general: conditions compared (e.g. 3 dropout "
                                                                    "rates); required when study_kind is general.")
    comparisons: Literal["against_control", "all_pairs"] = Field(
        "against_control", description="general: each condition against a control (k - 1 tests) or all pairs.")
    n_metrics: int = Field(1, ge=1, le=20, description="general: primary metrics tested (Holm across them).")
    minimum_effect_size: float | None = Field(None, gt=0, le=100, allow_inf_nan=False,
                                              description="Smallest difference worth detecting, in the metric's unit.")
    sidedness: Literal["two-sided", "one-sided"] = Field("two-sided", description="Alternative of the tests.")
    evaluation_data: str | None = Field(None, max_length=300, description="The evaluation set (name and split).")
    task_domain: Domain = Field("language_modeling",
                                description="What the model is evaluated on: language_modeling, code, "
                                            "downstream_tasks, vision, speech or other.")
    primary_metric: str | None = Field(
        None, max_length=80,
        description="Primary metric if already chosen (e.g. 'validation loss', 'accuracy', 'pass@1', 'p99 latency'). "
                    "Absent: held-out cross-entropy for training studies, throughput for inference. A discontinuous "
                    "choice (accuracy, exact match, pass@k) gets a warning and continuous proxies.")
    downstream_tasks: list[str] = Field(default_factory=list, max_length=20,
                                        description="Downstream benchmarks to evaluate at each scale (names), each "
                                                    "with its metric, e.g. 'MMLU', 'HumanEval pass@1'.")
    tokenizers_differ: bool = Field(False, description="True when runs use different tokenizers: loss is then reported "
                                                       "in bits per byte.")
    track_efficiency: bool = Field(True, description="Record FLOPs, GPU-hours and peak memory per run.")
    compare_systems: bool = Field(False, description="True when the study compares systems or conditions at matched "
                                                     "scales (e.g. two architectures): a comparison test is added.")
    replicates: int | None = Field(None, ge=1, le=100,
                                   description="Seeds (training) or repeated measurements (inference) per point. "
                                               "Absent: the Budget Gate's count for the scaling type.")
    confidence_level: float = Field(0.95, gt=0.5, lt=1.0, allow_inf_nan=False,
                                    description="Confidence level of reported intervals, in (0.5, 1).")
    price_per_gpu_hour: float | None = Field(None, gt=0, allow_inf_nan=False,
                                             description="USD per GPU-hour, for cost per token (inference).")
    num_gpus: int = Field(1, ge=1, le=4096, description="GPUs serving one model replica (inference cost per token).")

    @field_validator("scaling_type")
    @classmethod
    def _scaling_type(cls, value: str) -> str:
        return check_scaling_type(value)

    @field_validator("primary_metric")
    @classmethod
    def _metric(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("`primary_metric` must be a metric name or absent; got an empty string")
        if value is not None and any(c in value for c in "\r\n<>") or (value and not value.isprintable()):
            raise ValueError("`primary_metric` must be a one-line metric name without '<', '>' or control "
                             "characters, e.g. 'validation loss' or 'pass@1'")
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _kind(self) -> "Input":
        if self.study_kind == "scaling" and self.scaling_type is None:
            raise ValueError("`scaling_type` is required when study_kind is scaling (one of data, model, "
                             "compute_optimal, inference, custom); for an ablation pass study_kind='general'")
        if self.study_kind == "general" and self.n_conditions is None:
            raise ValueError("`n_conditions` is required when study_kind is general (the number of conditions "
                             "compared, >= 2)")
        return self


class Metric(BaseModel):
    name: str = Field(description="Metric name.")
    unit: str = Field(description="Unit.")
    direction: Literal["lower_is_better", "higher_is_better"] = Field(description="Which way is better.")
    continuous: bool = Field(description="False for thresholded metrics that jump with scale.")
    definition: str = Field(description="What is computed.")
    when: str = Field(description="When and on what it is measured.")
    why: str = Field(description="Why it is measured.")
    source: str = Field(description="Literature or rule.")


class Significance(BaseModel):
    approach: str = Field(description="How uncertainty is estimated.")
    confidence_level: float = Field(description="Level of reported intervals.")
    bootstrap_replicates: int = Field(description="Bootstrap resamples for reported intervals.")
    replicates: int = Field(description="Seeds or repeated measurements per point.")
    seed_variance_protocol: str = Field(description="How seed (or run-to-run) noise is measured.")
    noise_reference: str = Field(description="Expected noise level to compare with.")
    comparison_test: str | None = Field(description="Test for comparing systems (None when no comparison).")
    alpha: float = Field(description="Significance level of comparison tests.")
    source: str = Field(description="Where the rules come from.")
    minimum_effect_size: float | None = Field(None, description="Smallest difference worth detecting (metric's unit).")
    effect_size_type: str = Field("", description="The effect size reported (e.g. Cohen's d, relative loss gap).")
    multiple_comparison_correction: str | None = Field(None, description="Correction across hypotheses, if any.")
    n_comparisons: int = Field(1, description="Hypotheses tested together.")
    alpha_per_comparison: float = Field(0.05, description="alpha / n_comparisons (Bonferroni bound; Holm is uniformly "
                                                          "more powerful).")
    sidedness: str = Field("two-sided", description="Alternative of the tests.")


class Reporting(BaseModel):
    per_run_table: list[str] = Field(description="Columns to log for every run.")
    plots: list[str] = Field(description="Figures to produce.")
    conventions: list[str] = Field(description="Conventions to state next to every number.")
    precision: str = Field(description="How many digits to report and why.")
    central_tendency: str = Field("", description="The central value reported per point or condition.")
    uncertainty: str = Field("", description="The spread and interval reported beside it.")
    decimals: int = Field(4, description="Decimals of the metric in tables.")


class Output(BaseModel):
    study_kind: str = Field("scaling", description="scaling or general.")
    scaling_type: str | None = Field(description="Scaling type (None for a general study).")
    aggregation: str = Field("", description="How per-run values are combined per point or condition.")
    evaluation_data: str = Field("", description="The evaluation set every run is measured on.")
    diagnostic_metrics: list[str] = Field(default_factory=list, description="Metrics that check a run is healthy "
                                                                            "(not decided on).")
    primary_metric: Metric = Field(description="The metric the law is fitted to / the study decides on.")
    secondary_metrics: list[Metric] = Field(description="Metrics recorded alongside.")
    continuous_proxies: list[Metric] = Field(description="Continuous proxies for discontinuous metrics requested.")
    measurement_protocol: list[str] = Field(description="Steps to measure the metrics reproducibly.")
    significance: Significance = Field(description="Uncertainty, replicates and tests.")
    reporting: Reporting = Field(description="What to log and show.")
    defaults_used: list[DefaultUsed] = Field(description="Defaults chosen, with sources.")
    warnings: list[Finding] = Field(description="Non-fatal findings.")
    next_step: str = Field(description="What to call next.")


DESCRIPTION = """
Third step of a scaling study: what to measure at each scale point. Give the scaling type, the
task domain and, if any, a chosen primary metric, downstream tasks, whether tokenizers differ and
whether systems are compared. Returns the upstream skill's fields: primary_metric (held-out cross-entropy
at the end of the schedule on a fixed set, or bits per byte when tokenizers differ; throughput
for inference), secondary_metrics (FLOPs, GPU-hours, memory, seed variance; TTFT, time per output
token, latency p50/p99, cost per token for inference), significance (bootstrap over runs,
replicates, seed-noise protocol, comparison test) and reporting (per-run table, plots,
conventions, precision), plus continuous proxies and a warning when a discontinuous metric such
as accuracy or exact match is requested. Next: design_matrix_construction, then
sample_size_estimation (uses the noise reference) or statistical_method_selection.
"""

EXAMPLE = {
    "scaling_type": "model",
    "task_domain": "language_modeling",
    "downstream_tasks": ["HellaSwag accuracy"],
    "track_efficiency": True,
}


def find_metric(name: str, table: dict) -> str | None:
    """Catalogue key of a metric name or alias (case-insensitive, longest alias contained in the name)."""
    text = name.strip().lower().replace("_", " ")
    best: tuple[int, str] | None = None
    for key, row in table.items():
        for alias in [key.replace("_", " "), *row["aliases"]]:
            if alias == text or (len(alias) > 2 and alias in text):
                if best is None or len(alias) > best[0]:
                    best = (len(alias), key)
    return best[1] if best else None


def _metric(key: str, table: dict, name: str | None = None) -> Metric:
    row = table[key]
    return Metric(name=name or key, unit=row["unit"], direction=row["direction"], continuous=row["continuous"],
                  definition=row["definition"], when=row["when"], why=row["why"], source=row["source"])


def _custom_metric(name: str) -> Metric:
    return Metric(name=name, unit="as defined by the user", direction="lower_is_better", continuous=True,
                  definition="user-defined metric", when="at the end of each run, on a fixed evaluation set",
                  why="chosen by the user", source="user")


def _proxies_for(key: str, table: dict, label: str, warnings: list[Finding], proxies: list[Metric]) -> None:
    row = table[key]
    names = list(row.get("proxy", []))
    warnings.append(Finding(
        code="discontinuous_metric", severity="warning",
        message=f"{label!r} is a thresholded metric: it stays near chance and then jumps as scale grows, so a "
                "power law fitted to it is unreliable and apparent emergence is largely an artifact of the metric "
                f"(Schaeffer et al. 2023). Fit the law to a continuous proxy ({', '.join(names)}) and map it to "
                "the metric in a second step (compute -> task loss -> accuracy, as Llama 3 and the OLMo ladder do)."))
    for proxy in names:
        if all(p.name != proxy for p in proxies):
            proxies.append(_metric(proxy, table))


def _primary(inp: Input, table: dict, defaults: list[DefaultUsed], warnings: list[Finding],
             proxies: list[Metric]) -> Metric:
    if inp.primary_metric is not None:
        key = find_metric(inp.primary_metric, table)
        if key is None:
            warnings.append(Finding(code="unknown_metric", severity="warning",
                                    message=f"{inp.primary_metric!r} is not in the metric table; state its unit, "
                                            "direction and whether it is continuous before fitting a law to it."))
            return _custom_metric(inp.primary_metric)
        if not table[key]["continuous"]:
            _proxies_for(key, table, inp.primary_metric, warnings, proxies)
        if key == "held_out_cross_entropy" and inp.tokenizers_differ:
            warnings.append(Finding(code="per_token_loss_across_tokenizers", severity="warning",
                                    message="Per-token losses of different tokenizers are not comparable: report "
                                            "bits per byte as the primary metric."))
        return _metric(key, table, inp.primary_metric)
    if inp.scaling_type == "inference":
        key, source = "throughput", table["throughput"]["source"]
    elif inp.tokenizers_differ:
        key, source = "bits_per_byte", table["bits_per_byte"]["source"]
    else:
        key, source = "held_out_cross_entropy", table["held_out_cross_entropy"]["source"]
    defaults.append(DefaultUsed(name="primary_metric", value=key, source=source))
    if inp.task_domain in ("vision", "speech", "other") and key == "held_out_cross_entropy":
        warnings.append(Finding(code="loss_per_domain", severity="info",
                                message=f"For {inp.task_domain} the held-out loss is the task's own training loss "
                                        "(e.g. classification cross-entropy); keep it per example rather than per "
                                        "token and name the unit."))
    return _metric(key, table)


def _secondaries(inp: Input, primary: Metric, table: dict, warnings: list[Finding],
                 proxies: list[Metric]) -> list[Metric]:
    keys: list[str] = []
    if inp.scaling_type == "inference":
        keys += ["throughput", "ttft", "tpot", "e2e_latency", "cost_per_token", "peak_memory"]
        if inp.price_per_gpu_hour is None:
            warnings.append(Finding(code="no_gpu_price", severity="info",
                                    message="No price_per_gpu_hour: cost per token is given as a formula; pass the "
                                            "price to have it stated in USD."))
    else:
        if primary.name != "held_out_cross_entropy" and find_metric(primary.name, table) != "held_out_cross_entropy":
            keys.append("bits_per_byte" if inp.tokenizers_differ else "held_out_cross_entropy")
        keys.append("seed_sd")
        if inp.track_efficiency:
            keys += ["training_flops", "gpu_hours", "peak_memory"]
    secondaries = [_metric(k, table) for k in keys if k != find_metric(primary.name, table)]
    for task in inp.downstream_tasks:
        key = find_metric(task, table) or "downstream_accuracy"
        metric = _metric(key, table, name=task)
        secondaries.append(metric)
        if not metric.continuous:
            _proxies_for(key, table, task, warnings, proxies)
    if inp.task_domain == "downstream_tasks" and not inp.downstream_tasks and inp.scaling_type != "inference":
        warnings.append(Finding(code="downstream_tasks_unnamed", severity="warning",
                                message="task_domain is downstream_tasks but no task is named: list them in "
                                        "downstream_tasks with their metric (e.g. 'MMLU accuracy')."))
    return secondaries


def _replicates(inp: Input, defaults: list[DefaultUsed]) -> int:
    if inp.replicates is not None:
        return inp.replicates
    if inp.scaling_type == "custom":
        defaults.append(DefaultUsed(name="replicates", value=2, source="no Budget Gate row for custom studies: two "
                                                                       "seeds give a first noise estimate"))
        return 2
    gate = knowledge.budget_gate(inp.scaling_type)
    r = gate["replicates"]
    value = r[0] if isinstance(r, list) else r
    defaults.append(DefaultUsed(name="replicates", value=value, source=f"lower Budget Gate count ({gate['source']})"))
    return value


def _significance(inp: Input, reps: int, sig: dict) -> Significance:
    noise = knowledge.defaults()["noise"]
    comparison = sig["comparison"]
    if inp.scaling_type == "inference":
        row = sig["inference"]
        return Significance(
            approach=row["approach"] + " " + row["warmup"][0].upper() + row["warmup"][1:] + ".",
            confidence_level=inp.confidence_level, bootstrap_replicates=row["bootstrap_replicates"], replicates=reps,
            seed_variance_protocol=f"repeat each configuration {reps} times on a fresh server start or after a reset of "
                                   "caches; report the spread of the per-replicate medians",
            noise_reference="run-to-run spread measured in the replicates; no published reference value",
            comparison_test=comparison["inference"] if inp.compare_systems else None, alpha=comparison["alpha"],
            source=row["source"] + "; " + comparison["source"])
    row = sig["training"]
    return Significance(
        approach=row["approach"], confidence_level=inp.confidence_level,
        bootstrap_replicates=row["bootstrap_replicates"], replicates=reps,
        seed_variance_protocol=f"train {max(reps, 2)} seeds (different initialisation and data order) at the smallest "
                               "and the largest planned scale at least" +
                               (" (one run more than the plan's single replicate: one seed gives no spread)"
                                if reps < 2 else "") +
                               "; report the standard deviation of final loss per scale and use it as the noise "
                               "model of the fit",
        noise_reference=f"seed-to-seed sd of final loss about {noise['seed_sd_nats']} nats at loss <= 3 (Porian et al. "
                        "2024), larger at higher loss; residual sd of log loss 0.0075 in the reference joint-law fit "
                        "(Besiroglu et al. 2024 data)",
        comparison_test=comparison["training"] if inp.compare_systems else None, alpha=comparison["alpha"],
        source=row["source"] + "; " + noise["source"])


_DIAGNOSTICS = ["training loss curve (spikes, divergence)", "gradient norm", "learning rate as scheduled",
                "throughput (tokens/s) against the planned MFU"]


def _general(inp: Input) -> Output:
    table = knowledge.load("metrics")
    metrics, decimals = table["metrics"], table["reporting"]["loss_decimals"]
    defaults: list[DefaultUsed] = []
    warnings: list[Finding] = []
    if inp.primary_metric is None:
        primary = _metric("held_out_cross_entropy", metrics)
        defaults.append(DefaultUsed(name="primary_metric", value=primary.name, source=metrics["held_out_cross_entropy"]["source"]))
    else:
        key = find_metric(inp.primary_metric, metrics)
        primary = _metric(key, metrics, inp.primary_metric) if key else _custom_metric(inp.primary_metric)
    reps = inp.replicates if inp.replicates is not None else GENERAL_REPLICATES
    if inp.replicates is None:
        defaults.append(DefaultUsed(name="replicates", value=reps, source=GENERAL_REPLICATES_SOURCE))
    alpha = table["significance"]["comparison"]["alpha"]
    sig = general_significance(inp, reps, alpha)
    if inp.minimum_effect_size is None:
        warnings.append(Finding(code="no_minimum_effect", severity="warning",
                                message="No minimum_effect_size: say the smallest difference worth acting on, so "
                                        "sample_size_estimation can size the seeds and a null result means something."))
    keys = ["seed_sd"] + (["training_flops", "gpu_hours", "peak_memory"] if inp.track_efficiency else [])
    return Output(
        study_kind="general", scaling_type=None, primary_metric=primary,
        secondary_metrics=[_metric(k, metrics) for k in keys], continuous_proxies=[],
        aggregation=f"mean over the {reps} seeds of each condition (each run one value at the end of training)",
        evaluation_data=inp.evaluation_data or "one held-out split, frozen before the first run, never used for tuning",
        diagnostic_metrics=list(_DIAGNOSTICS), measurement_protocol=general_protocol(inp, primary.name, reps),
        significance=Significance(confidence_level=inp.confidence_level, bootstrap_replicates=1000, replicates=reps,
                                  alpha=alpha, **sig),
        reporting=Reporting(**general_reporting(decimals)), defaults_used=defaults, warnings=warnings,
        next_step=f"Call statistical_method_selection with study_kind='general', n_groups={inp.n_conditions}, "
                  f"runs_per_group={reps} and n_comparisons={sig['n_comparisons']} (and effect_size for a power "
                  "check), then sample_size_estimation to size the seeds.")


def run(inp: Input) -> Output:
    if inp.study_kind == "general":
        return _general(inp)
    table = knowledge.load("metrics")
    metrics = table["metrics"]
    defaults: list[DefaultUsed] = []
    warnings: list[Finding] = []
    proxies: list[Metric] = []
    primary = _primary(inp, metrics, defaults, warnings, proxies)
    if inp.scaling_type == "inference" and primary.name in ("held_out_cross_entropy", "bits_per_byte"):
        warnings.append(Finding(code="loss_in_inference_study", severity="warning",
                                message="An inference study measures serving speed and cost; loss does not change "
                                        "with batch or sequence length at inference."))
    secondaries = _secondaries(inp, primary, metrics, warnings, proxies)
    reps = _replicates(inp, defaults)
    significance = _significance(inp, reps, table["significance"])
    significance.minimum_effect_size = inp.minimum_effect_size
    significance.sidedness = inp.sidedness
    significance.effect_size_type = ("median ratio of throughput or latency between configurations"
                                     if inp.scaling_type == "inference" else
                                     "difference of fitted curves (loss gap at matched scale) and of exponents")
    if inp.compare_systems:
        significance.multiple_comparison_correction = "Holm-Bonferroni across scales and metrics"
    reporting = Reporting(**scaling_reporting(inp, table["reporting"]))
    inference = inp.scaling_type == "inference"
    reporting.central_tendency = "median over replicates" if inference else "each run's final value; the fitted law"
    reporting.uncertainty = ("bootstrap percentile interval across replicates" if inference else
                             "bootstrap percentile intervals of parameters and predictions; seed sd per scale")
    reporting.decimals = 3 if inference else table["reporting"]["loss_decimals"]
    return Output(
        study_kind="scaling", scaling_type=inp.scaling_type,
        aggregation=("median of each metric within a replicate, then across replicates" if inference else
                     "no averaging before the fit: every run (scale x seed) is one point; seed sd per scale"),
        evaluation_data=inp.evaluation_data or ("one fixed request set per configuration" if inference else
                                                "one frozen held-out set, the same for every run"),
        diagnostic_metrics=([] if inference else list(_DIAGNOSTICS)), primary_metric=primary, secondary_metrics=secondaries,
        continuous_proxies=proxies, measurement_protocol=scaling_protocol(inp, primary, proxies),
        significance=significance, reporting=reporting,
        defaults_used=defaults, warnings=warnings,
        next_step="Call design_matrix_construction with the levels, then sample_size_estimation with the noise "
                  "reference above (or statistical_method_selection for comparisons).")
