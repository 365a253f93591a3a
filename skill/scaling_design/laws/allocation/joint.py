"""Compute-optimal allocation for the joint law L = E + A/N^alpha + B/D^beta with C = 6ND.

Minimising L along C = 6ND gives (Hoffmann et al. 2022, appendix D.2):
    N_opt = G (C/6)^a,   D_opt = G^-1 (C/6)^b,   a = beta/(alpha+beta), b = alpha/(alpha+beta),
    G = (alpha A / (beta B))^(1/(alpha+beta)).
Everything here broadcasts, so a (B, 5) array of bootstrap replicates gives B frontiers at once.
"""
from __future__ import annotations

import numpy as np

__all__ = ["JOINT_ORDER", "compute_optimal", "joint_loss", "resource_effect", "allocation_exponents", "unpack_joint"]

JOINT_ORDER = ("E", "A", "B", "alpha", "beta")


def unpack_joint(params) -> tuple[np.ndarray, ...]:
    if isinstance(params, dict):
        missing = [k for k in JOINT_ORDER if k not in params]
        if missing:
            raise ValueError(f"params must hold {list(JOINT_ORDER)} for the joint law; missing {missing}")
        return tuple(np.asarray(params[k], float) for k in JOINT_ORDER)
    arr = np.asarray(params, float)
    if arr.shape[-1] != 5:
        raise ValueError(f"params must have 5 values in the order {list(JOINT_ORDER)}; got shape {arr.shape}")
    return tuple(arr[..., i] for i in range(5))


def joint_loss(params, N, D):
    E, A, B, alpha, beta = unpack_joint(params)
    return E + A * np.asarray(N, float) ** -alpha + B * np.asarray(D, float) ** -beta


def allocation_exponents(params) -> dict[str, np.ndarray]:
    """a = beta/(alpha+beta) (N_opt ~ C^a) and b = alpha/(alpha+beta) (D_opt ~ C^b)."""
    _, _, _, alpha, beta = unpack_joint(params)
    return {"a": beta / (alpha + beta), "b": alpha / (alpha + beta)}


def compute_optimal(params, compute) -> dict[str, np.ndarray]:
    """N_opt, D_opt, tokens per parameter and loss at the optimum for compute C (FLOPs)."""
    E, A, B, alpha, beta = unpack_joint(params)
    C = np.asarray(compute, float)
    if np.any(~np.isfinite(C)) or np.any(C <= 0):
        raise ValueError(f"compute must be > 0 FLOPs; got {compute!r}")
    if np.any(alpha <= 0) or np.any(beta <= 0):
        raise ValueError("alpha and beta must be > 0 for a compute-optimal allocation to exist")
    s = alpha + beta
    G = (alpha * A / (beta * B)) ** (1.0 / s)
    x = C / 6.0
    N = G * x ** (beta / s)
    D = x ** (alpha / s) / G
    return {"N_opt": N, "D_opt": D, "tokens_per_param": D / N, "loss": E + A * N**-alpha + B * D**-beta}


def resource_effect(params, N, D, resource: str = "D", factor: float = 2.0) -> dict[str, np.ndarray]:
    """Loss before and after multiplying one resource (N or D) by `factor`, and the change.

    The relative change is of the whole loss (irreducible term included) and of the
    reducible part L - E, which is what a power law scales.
    """
    if resource not in ("N", "D"):
        raise ValueError(f"resource must be 'N' or 'D'; got {resource!r}")
    if not factor > 0:
        raise ValueError(f"factor must be > 0; got {factor!r}")
    E = unpack_joint(params)[0]
    before = joint_loss(params, N, D)
    after = joint_loss(params, N * factor, D) if resource == "N" else joint_loss(params, N, D * factor)
    return {"loss_before": before, "loss_after": after,
            "relative_change": after / before - 1.0,
            "reducible_relative_change": (after - E) / (before - E) - 1.0}
