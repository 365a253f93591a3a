"""Metric specification: what to measure at each scale point, how, and how to report it.

Rules over ``knowledge/metrics.toml``: training studies measure held-out cross-entropy at the
end of the schedule (bits per byte when tokenizers differ) plus cost and seed noise;
downstream tasks get continuous proxies and a warning when a discontinuous metric is asked
for; inference studies measure throughput, TTFT, time per output token, latency p50/p99 and
cost per token under a warm-up and replicate protocol.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import knowledge
from .factor_identification import DefaultUsed, Finding, check_scaling_type

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE", "Metric", "find_metric"]

TRAINING_TYPES = ("data", "model", "compute_optimal", "custom")
Domain = Literal["language_modeling", "code", "downstream_tasks", "vision", "speech", "other"]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scaling_type: str = Field(description="One of data, model, compute_optimal, inference, custom.")
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
        return value.strip() if value is not None else None


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


class Reporting(BaseModel):
    per_run_table: list[str] = Field(description="Columns to log for every run.")
    plots: list[str] = Field(description="Figures to produce.")
    conventions: list[str] = Field(description="Conventions to state next to every number.")
    precision: str = Field(description="How many digits to report and why.")


class Output(BaseModel):
    scaling_type: str = Field(description="Scaling type.")
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
whether systems are compared. Returns the seed's fields: primary_metric (held-out cross-entropy
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
        key, source = "throughput", "SCALING_NOTES: Metrics (inference: throughput, TTFT, TPOT, latency, cost)"
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


def _protocol(inp: Input, primary: Metric, proxies: list[Metric]) -> list[str]:
    if inp.scaling_type == "inference":
        steps = ["Fix hardware, GPU count, parallelism layout, serving engine and version, precision and sampling "
                 "settings; record them.",
                 "Use one fixed request set per configuration (prompt and output lengths as designed; force the output "
                 "length).",
                 "Discard warm-up requests of every configuration (compilation, cache allocation) before measuring.",
                 f"Measure {inp.replicates or 'the Budget Gate number of'} replicates per configuration, at least 100 "
                 "requests each, so p99 exists.",
                 "Record per request: arrival, first-token and last-token times, tokens generated; derive TTFT, time "
                 "per output token, end-to-end latency; per replicate: throughput, p50 and p99."]
        if inp.price_per_gpu_hour is not None:
            steps.append(f"Cost per token = {inp.price_per_gpu_hour:g} USD/GPU-hour x {inp.num_gpus} GPU(s) / "
                         "(3600 x throughput in tokens/s).")
        else:
            steps.append("Cost per token = price per GPU-hour x GPUs / (3600 x throughput in tokens/s).")
        return steps
    steps = ["Freeze one held-out evaluation set (documents, order, tokenization) before the first run and use it for "
             "every run.",
             f"Measure {primary.name} at the end of the learning-rate schedule of each run (after the final decay); "
             "do not read it from a mid-cosine checkpoint, which is biased upward.",
             "Log per run: the factor levels, non-embedding and total parameters, tokens, 6ND and DeepSeek M x D "
             "FLOPs, GPU-hours, hardware, seed.",
             "Evaluate every scale with the same evaluation code, batch and precision."]
    if inp.tokenizers_differ:
        steps.append("Convert losses to bits per byte: total nats over the set / (ln 2 x UTF-8 bytes of the set).")
    if inp.downstream_tasks:
        steps.append("Evaluate downstream tasks with one fixed prompt format and benchmark version; record the "
                     "continuous proxies (" + ", ".join(p.name for p in proxies) + ") next to the task metric."
                     if proxies else "Evaluate downstream tasks with one fixed prompt format and benchmark version.")
    return steps


def _reporting(inp: Input, decimals: dict) -> Reporting:
    if inp.scaling_type == "inference":
        return Reporting(
            per_run_table=["configuration levels", "replicate", "requests", "throughput (tokens/s)", "TTFT p50/p99",
                           "time per output token p50/p99", "latency p50/p99", "peak memory", "cost per token"],
            plots=["throughput against batch size (log x)", "latency p50 and p99 against batch size",
                   "TTFT against prompt length", "throughput-latency frontier"],
            conventions=["hardware, GPU count, engine and version, precision", "request set and lengths",
                         "warm-up discarded", "medians with bootstrap intervals across replicates"],
            precision="3 significant digits for latencies and throughput; intervals beside every median")
    return Reporting(
        per_run_table=["factor levels", "N non-embedding", "N total", "tokens D", "FLOPs (6ND)", "FLOPs (M D)",
                       "final loss", "seed", "GPU-hours", "hardware"],
        plots=["loss against each scaling axis on log-log axes with the fitted law and its interval band",
               "residuals against scale", "held-out larger point against the extrapolated prediction"],
        conventions=["parameter counting used in the fit (log both)", "FLOPs convention (6ND or DeepSeek M)",
                     "loss unit (nats/token or bits/byte) and evaluation set", "MFU and hardware behind GPU-hours"],
        precision=f"losses to {decimals['loss_decimals']} decimals ({decimals['loss_decimals_source']}); fitted "
                  "parameters with their bootstrap interval, never rounded before use")


def run(inp: Input) -> Output:
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
    return Output(
        scaling_type=inp.scaling_type, primary_metric=primary, secondary_metrics=secondaries,
        continuous_proxies=proxies, measurement_protocol=_protocol(inp, primary, proxies),
        significance=_significance(inp, reps, table["significance"]), reporting=_reporting(inp, table["reporting"]),
        defaults_used=defaults, warnings=warnings,
        next_step="Call design_matrix_construction with the levels, then sample_size_estimation with the noise "
                  "reference above (or statistical_method_selection for comparisons).")
