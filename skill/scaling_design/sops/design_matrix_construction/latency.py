"""Expected latency, throughput and benchmark GPU-time of an inference cell: a roofline model.

Following Pope et al. 2023 ('Efficiently Scaling Transformer Inference', section 2): prefill is
compute-bound, 2 N FLOPs per prompt token of every request in the batch at peak x MFU; each decode
step reads the weights and the KV cache held (memory-bound at small batches) and does 2 N FLOPs per
request, so it takes the larger of bytes / HBM bandwidth and FLOPs / (peak x MFU). A batch of
requests takes prefill + output tokens x step; a replicate serves the protocol's requests (and the
warm-up ones) in batches of batch_size, one after another. These are expectations to compare the
measurements with, and the benchmark GPU-time an inference grid is costed in. The shape of the
served model is level_specification's for its parameter count (16-bit weights and cache).
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from ... import knowledge
from ...errors import InputError
from .. import level_specification as ls
from ..level_specification.shapes import _ShapeRules, search_shape

__all__ = ["cell_latency", "bandwidth", "served_shape", "add_latency", "BYTES_PER_VALUE"]

BYTES_PER_VALUE = 2  # BF16 / FP16 weights, cache and activations


@lru_cache(maxsize=64)
def served_shape(n_params: float) -> ls.ModelShape:
    """The transformer shape level_specification gives a model of `n_params` parameters."""
    inp = ls.Input(scaling_type="model", factors=[{"name": "parameters", "minimum": n_params / 10.0,
                                                    "maximum": n_params, "unit": "parameters"}])
    rules = _ShapeRules(inp, knowledge.load("levels"), knowledge.defaults()["shape"])
    return search_shape(rules, n_params)


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
    flops_per_token = knowledge.load("designs")["inference"]["forward_flops_per_param_token"] * shape.total_params
    rate = peak * mfu
    ttft = flops_per_token * batch * prompt / rate
    weights = BYTES_PER_VALUE * shape.total_params
    kv_per_token = 2 * shape.n_layer * shape.d_model * BYTES_PER_VALUE
    held = batch * (prompt + output / 2.0)  # tokens in the cache, on average over the decode
    tpot = max((weights + kv_per_token * held) / bytes_per_s, flops_per_token * batch / rate)
    latency = ttft + output * tpot
    return {"ttft": ttft, "tpot": tpot, "latency": latency, "throughput": batch * output / latency}


def add_latency(rows: list[dict[str, Any]], hardware: str, peak: float, eff: float) -> str:
    """Fill expected_ttft_s, expected_tpot_s, expected_throughput and benchmark gpu_hours per row; return the rule."""
    bench = knowledge.load("defaults")["inference_benchmark"]
    bytes_per_s = bandwidth(hardware)
    requests = int(bench["requests"]) + int(bench["warmup_requests"])
    output = float(bench["output_tokens"])
    for r in rows:
        batch = float(r["batch_size"])
        cell = cell_latency(served_shape(float(r["N"])), batch, float(r["seq_len"]), output, peak, eff, bytes_per_s)
        r.update(gpu_hours=math.ceil(requests / batch) * cell["latency"] / 3600.0, expected_ttft_s=cell["ttft"],
                 expected_tpot_s=cell["tpot"], expected_throughput=cell["throughput"])
    return (f"benchmark GPU-time per run = ceil({requests} requests ({bench['warmup_requests']} of them warm-up) / "
            f"batch) x batch latency; batch latency = TTFT + {output:g} output tokens x time per output token; "
            f"TTFT = 2N x batch x prompt tokens / ({peak:.3g} FLOP/s x MFU {eff:g}); time per output token = the "
            f"larger of (weights + KV cache held) / {bytes_per_s / 1e9:g} GB/s and 2N x batch / (peak x MFU) "
            f"(a roofline model, Pope et al. 2023, section 2; {bench['source']})")
