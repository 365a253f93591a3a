"""Cost model: training FLOPs and GPU-hours.

C = 6 N D training FLOPs (Kaplan et al. 2020). GPU-hours = FLOPs / (peak FLOP/s x MFU x 3600):
the peak is the accelerator's dense BF16 figure and MFU the model FLOPs utilisation
assumed for the run; both must be stated next to any GPU-hour figure.
"""
from __future__ import annotations

import numpy as np

__all__ = ["MIN_MFU", "training_flops", "gpu_hours", "flops_from_gpu_hours"]

# MFU divides every GPU-hour figure: below 1e-4 (a thousandth of the 0.2-0.6 real LLM training reaches) a
# budget of 1e30 FLOPs overflows to infinite GPU-hours, and no training run is that idle.
MIN_MFU = 1e-4


def training_flops(n_params, tokens, flops_per_token=None):
    """Training FLOPs: 6 N D, or D x the counted FLOPs per token when given."""
    n_params, tokens = np.asarray(n_params, float), np.asarray(tokens, float)
    if flops_per_token is not None:
        return np.asarray(flops_per_token, float) * tokens
    return 6.0 * n_params * tokens


def gpu_hours(flops, peak_flops: float, mfu: float):
    """GPU-hours to spend `flops` at `mfu` of `peak_flops` FLOP/s per GPU."""
    if not peak_flops > 0:
        raise ValueError(f"peak_flops must be > 0; got {peak_flops!r}")
    if not MIN_MFU <= mfu <= 1:
        raise ValueError(f"mfu must be in [{MIN_MFU:g}, 1]; got {mfu!r}")
    return np.asarray(flops, float) / (peak_flops * mfu * 3600.0)


def flops_from_gpu_hours(hours, peak_flops: float, mfu: float):
    """FLOPs that `hours` GPU-hours buy at `mfu` of `peak_flops`."""
    return np.asarray(hours, float) * peak_flops * mfu * 3600.0
