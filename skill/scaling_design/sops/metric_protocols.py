"""The measurement protocol and reporting rules of metric_specification for a scaling study.

Training studies: a frozen held-out set, loss at the end of the schedule, the counting
conventions logged beside every number. Inference studies: warm-up discarded, replicates of at
least 100 requests so p99 exists, cost per token from the GPU price.
"""
from __future__ import annotations

from typing import Any

__all__ = ["scaling_protocol", "scaling_reporting"]


def scaling_protocol(inp: Any, primary: Any, proxies: list[Any]) -> list[str]:
    """The measurement steps of a scaling study (training or inference)."""
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


def scaling_reporting(inp: Any, decimals: dict) -> dict[str, Any]:
    """What a scaling study logs and shows (the fields of metric_specification's Reporting)."""
    if inp.scaling_type == "inference":
        return dict(
            per_run_table=["configuration levels", "replicate", "requests", "throughput (tokens/s)", "TTFT p50/p99",
                           "time per output token p50/p99", "latency p50/p99", "peak memory", "cost per token"],
            plots=["throughput against batch size (log x)", "latency p50 and p99 against batch size",
                   "TTFT against prompt length", "throughput-latency frontier"],
            conventions=["hardware, GPU count, engine and version, precision", "request set and lengths",
                         "warm-up discarded", "medians with bootstrap intervals across replicates"],
            precision="3 significant digits for latencies and throughput; intervals beside every median")
    return dict(
        per_run_table=["factor levels", "N non-embedding", "N total", "tokens D", "FLOPs (6ND)", "FLOPs (M D)",
                       "final loss", "seed", "GPU-hours", "hardware"],
        plots=["loss against each scaling axis on log-log axes with the fitted law and its interval band",
               "residuals against scale", "held-out larger point against the extrapolated prediction"],
        conventions=["parameter counting used in the fit (log both)", "FLOPs convention (6ND or DeepSeek M)",
                     "loss unit (nats/token or bits/byte) and evaluation set", "MFU and hardware behind GPU-hours"],
        precision=f"losses to {decimals['loss_decimals']} decimals ({decimals['loss_decimals_source']}); fitted "
                  "parameters with their bootstrap interval, never rounded before use")
