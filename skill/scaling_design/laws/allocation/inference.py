"""Inference-aware allocation (Sardana et al. 2024, "Beyond Chinchilla-Optimal", section 2).

For the joint law L = E + A/N^alpha + B/D^beta, a target loss l and T lifetime inference
tokens, minimise the lifetime FLOPs 6 N D + 2 N T subject to L(N, D) = l. On the loss
contour, D(N) = (B / r(N))^(1/beta) with r(N) = l - E - A N^-alpha > 0, so N must exceed
N_min = (A / (l - E))^(1/alpha). The derivative of the cost along the contour is
    6 D(N) h(N),   h(N) = 1 - (alpha/beta) A N^-alpha / r(N) + T / (3 D(N)),
and h rises strictly with N (both terms do), so the optimum is its one root. At T = 0 the
root is the Chinchilla-optimal size for loss l, N_c = (A (1 + alpha/beta) / (l - E))^(1/alpha)
(h(N_c) = T / (3 D(N_c)) >= 0), and for T > 0 it lies in (N_min, N_c]: a smaller model trained
longer. The paper finds the root by Newton's method (no closed form exists once inference is
counted, its appendix A); here a bisection in log N, vectorised, which cannot leave the bracket.
Everything broadcasts: a (B, 5) array of bootstrap replicates gives B optima at once.
"""
from __future__ import annotations

import numpy as np

from .joint import unpack_joint

__all__ = ["inference_optimal", "chinchilla_at_loss", "compute_for_optimal_size", "TRAIN_FLOPS", "INFER_FLOPS"]

TRAIN_FLOPS = 6.0   # FLOPs per parameter per training token (Kaplan et al. 2020)
INFER_FLOPS = 2.0   # FLOPs per parameter per inference token, a forward pass (Kaplan et al. 2020, section 2.1)
_BISECTIONS = 200   # halvings of the log-N bracket; far below float resolution long before the end


def chinchilla_at_loss(params, target_loss) -> dict[str, np.ndarray]:
    """The Chinchilla-optimal (training-FLOP minimising) N and D that reach `target_loss`.

    On the frontier A N^-alpha = (l - E) beta / (alpha + beta) and B D^-beta = (l - E) alpha / (alpha + beta)."""
    E, A, B, alpha, beta = unpack_joint(params)
    excess = _excess(E, target_loss)
    s = alpha + beta
    N = (A * s / (beta * excess)) ** (1.0 / alpha)
    D = (B * s / (alpha * excess)) ** (1.0 / beta)
    return {"N": N, "D": D}


def compute_for_optimal_size(params, N) -> np.ndarray:
    """The training compute C (= 6 N D) at which N is the compute-optimal model size."""
    E, A, B, alpha, beta = unpack_joint(params)
    s = alpha + beta
    G = (alpha * A / (beta * B)) ** (1.0 / s)
    x = (np.asarray(N, float) / G) ** (s / beta)
    return TRAIN_FLOPS * x


def _excess(E, target_loss) -> np.ndarray:
    excess = np.asarray(target_loss, float) - E
    if np.any(~np.isfinite(excess)) or np.any(excess <= 0):
        raise ValueError(f"target loss must exceed the law's irreducible loss E = {np.min(E):.6g}; got {target_loss!r}")
    return excess


def _tokens_on_contour(E, A, B, alpha, beta, target_loss, N) -> np.ndarray:
    """D(N) on the loss contour L(N, D) = target (inf where N cannot reach it)."""
    r = (target_loss - E) - A * N ** -alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r > 0, (B / np.where(r > 0, r, 1.0)) ** (1.0 / beta), np.inf)


def inference_optimal(params, target_loss, inference_tokens) -> dict[str, np.ndarray]:
    """N and D minimising 6 N D + 2 N T at loss `target_loss`, with the Chinchilla allocation beside it.

    Returns N_opt, D_opt, tokens_per_param, training/inference/total FLOPs, and for the
    Chinchilla-optimal model of the same loss (the one that minimises training FLOPs alone)
    N_chinchilla, D_chinchilla, total_flops_chinchilla (its training plus the same inference),
    and savings = 1 - total / total_chinchilla.
    """
    E, A, B, alpha, beta = unpack_joint(params)
    if np.any(alpha <= 0) or np.any(beta <= 0):
        raise ValueError("alpha and beta must be > 0 for an inference-aware allocation to exist")
    T = np.asarray(inference_tokens, float)
    if np.any(~np.isfinite(T)) or np.any(T < 0):
        raise ValueError(f"inference tokens must be >= 0; got {inference_tokens!r}")
    excess = _excess(E, target_loss)
    target = np.asarray(target_loss, float)
    chin = chinchilla_at_loss(params, target)
    shape = np.broadcast_shapes(np.shape(E), np.shape(target), np.shape(T))
    lo = np.broadcast_to(np.log(A) / alpha - np.log(excess) / alpha, shape).copy()   # log N_min: r(N) = 0
    hi = np.broadcast_to(np.log(chin["N"]), shape).copy()
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        N = np.exp(mid)
        pn = A * N ** -alpha
        D = _tokens_on_contour(E, A, B, alpha, beta, target, N)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = 1.0 - (alpha / beta) * pn / (excess - pn) + T / (3.0 * D)
        h = np.where(np.isfinite(h), h, -np.inf)   # at N_min the contour needs infinite data
        rising = h < 0
        lo = np.where(rising, mid, lo)
        hi = np.where(rising, hi, mid)
    N = np.where(T == 0, chin["N"], np.exp(hi))   # T = 0: exactly the Chinchilla-optimal model
    D = np.where(T == 0, chin["D"], _tokens_on_contour(E, A, B, alpha, beta, target, N))
    train, infer = TRAIN_FLOPS * N * D, INFER_FLOPS * N * T
    total_chin = TRAIN_FLOPS * chin["N"] * chin["D"] + INFER_FLOPS * chin["N"] * T
    return {"N_opt": N, "D_opt": D, "tokens_per_param": D / N, "loss": np.broadcast_to(target, shape) * 1.0,
            "training_flops": train, "inference_flops": infer, "total_flops": train + infer,
            "N_chinchilla": chin["N"] * np.ones(shape), "D_chinchilla": chin["D"] * np.ones(shape),
            "total_flops_chinchilla": total_chin, "savings": 1.0 - (train + infer) / total_chin}
