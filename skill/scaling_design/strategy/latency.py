"""Expected latency, throughput and benchmark GPU-time of an inference cell: a roofline model.

Following Pope et al. 2023 ('Efficiently Scaling Transformer Inference', section 2): prefill is
compute-bound, 2 N FLOPs per prompt token of every request in the batch at peak x MFU; each decode
step reads the weights and the KV cache held (memory-bound at small batches) and does 2 N FLOPs per
request, so it takes the larger of bytes / HBM bandwidth and FLOPs / (peak x MFU). A batch of
requests takes prefill + output tokens x step; a replicate serves the protocol's requests (and the
warm-up ones) in batches of batch_size, one after another. These are expectations to compare the
measurements with, and the benchmark GPU-time the plan is costed in.
"""
from __future__ import annotations

import math
from typing import Any

from .. import knowledge
from ..errors import InputError
from ..sops import level_specification as ls
from .memory import BYTES_PER_VALUE

__all__ = ["with_latency", "cell_latency", "bandwidth"]

FORWARD_FLOPS_PER_PARAM_TOKEN = 2


def bandwidth(hardware: str) -> float:
    """HBM bandwidth in bytes/s of `hardware` (knowledge/defaults.toml)."""
    table = knowledge.load("defaults")["hardware"]
    key = next((k for k in table if k.lower() == hardware.lower() and k != "source"), None)
    if key is None or "memory_bandwidth_gbs" not in table[key]:
        raise InputError("hardware", f"hardware must be an accelerator with a memory_bandwidth_gbs row in "
                                     f"knowledge/defaults.toml; got {hardware!r}")
    return float(table[key]["memory_bandwidth_gbs"]) * 1e9


def cell_latency(shape: ls.ModelShape, batch: float, prompt: float, output: float, peak: float, mfu: float,
                 bytes_per_s: float) -> dict[str, float]:
    """TTFT, time per output token, batch latency and throughput of one batch (seconds, tokens/s)."""
    flops_per_token = FORWARD_FLOPS_PER_PARAM_TOKEN * shape.total_params
    rate = peak * mfu
    ttft = flops_per_token * batch * prompt / rate
    weights = BYTES_PER_VALUE * shape.total_params
    kv_per_token = 2 * shape.n_layer * shape.d_model * BYTES_PER_VALUE
    held = batch * (prompt + output / 2.0)  # tokens in the cache, on average over the decode
    tpot = max((weights + kv_per_token * held) / bytes_per_s, flops_per_token * batch / rate)
    latency = ttft + output * tpot
    return {"ttft": ttft, "tpot": tpot, "latency": latency, "throughput": batch * output / latency}


def with_latency(runs: list[dict[str, Any]], shape: ls.ModelShape, hardware: str, peak: float,
                 eff: float) -> tuple[list[dict[str, Any]], str]:
    """The runs with expected_ttft_s, expected_tpot_s, expected_throughput and benchmark gpu_hours."""
    bench = knowledge.load("defaults")["inference_benchmark"]
    bytes_per_s = bandwidth(hardware)
    requests = int(bench["requests"]) + int(bench["warmup_requests"])
    output = float(bench["output_tokens"])
    out = []
    for r in runs:
        batch = float(r["batch_size"])
        cell = cell_latency(shape, batch, float(r["seq_len"]), output, peak, eff, bytes_per_s)
        hours = math.ceil(requests / batch) * cell["latency"] / 3600.0
        out.append({**{k: v for k, v in r.items() if k != "flops"}, "gpu_hours": hours,
                    "expected_ttft_s": cell["ttft"], "expected_tpot_s": cell["tpot"],
                    "expected_throughput": cell["throughput"]})
    how = (f"benchmark GPU-time per run = ceil({requests} requests ({bench['warmup_requests']} of them warm-up) / "
           f"batch) x batch latency; batch latency = TTFT + {output:g} output tokens x time per output token; "
           f"TTFT = 2N x batch x prompt tokens / ({peak:.3g} FLOP/s x MFU {eff:g}); time per output token = the "
           f"larger of (weights + KV cache held) / {bytes_per_s / 1e9:g} GB/s and 2N x batch / (peak x MFU) "
           f"(a roofline model, Pope et al. 2023, section 2; {bench['source']})")
    return out, how
