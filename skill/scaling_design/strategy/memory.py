"""Does a benchmark cell fit on the accelerator? Weights + KV cache + activations, from the model shape.

Bytes at 16-bit precision: weights 2 N (total parameters); KV cache 2 (K and V) x n_layer x d_model x 2 bytes
per token held, times batch x sequence length; activations of the widest layer in a prefill,
batch x sequence length x d_ff x 2 bytes. The shape is level_specification's for the served model size.
"""
from __future__ import annotations

from typing import Any

from .. import knowledge
from ..errors import InputError
from ..sops.design_matrix_construction.latency import BYTES_PER_VALUE, served_shape

__all__ = ["served_shape", "with_memory", "BYTES_PER_VALUE"]

GB = 1e9


def accelerator_memory_gb(hardware: str) -> float:
    table = knowledge.load("defaults")["hardware"]
    key = next((k for k in table if k.lower() == hardware.lower() and k != "source"), None)
    if key is None or "memory_gb" not in table[key]:
        raise InputError("hardware", f"hardware must be an accelerator with a memory row in knowledge/defaults.toml; "
                                     f"got {hardware!r}")
    return float(table[key]["memory_gb"])


def with_memory(runs: list[dict[str, Any]], n_params: float, hardware: str) -> tuple[list[dict[str, Any]], str]:
    """The runs with `memory_gb` and `memory_ok` per cell, and a sentence saying how they were counted."""
    shape = served_shape(n_params)
    limit = accelerator_memory_gb(hardware)
    weights = BYTES_PER_VALUE * shape.total_params
    kv_per_token = 2 * shape.n_layer * shape.d_model * BYTES_PER_VALUE
    out = []
    for r in runs:
        tokens = float(r["batch_size"]) * float(r["seq_len"])
        need = (weights + kv_per_token * tokens + tokens * shape.d_ff * BYTES_PER_VALUE) / GB
        out.append({**r, "memory_gb": need, "memory_ok": need <= limit})
    how = (f"memory per cell = weights {weights / GB:.3g} GB ({shape.total_params:.3g} parameters, 16-bit) + KV cache "
           f"{kv_per_token / 2 ** 20:.3g} MiB per token (n_layer {shape.n_layer}, d_model {shape.d_model}) x batch x "
           f"sequence length + activations (d_ff {shape.d_ff}); against {limit:g} GB on one {hardware} "
           "(knowledge/defaults.toml)")
    return out, how
