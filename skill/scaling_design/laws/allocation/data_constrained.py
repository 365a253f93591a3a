"""Compute-optimal allocation when unique tokens are limited (Muennighoff et al. 2023).

The data-constrained law (their eq. 5 and 6) is the joint law in effective data D' and
effective parameters N':
    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),  U_D = min(U, D), R_D = D / U_D - 1 (repeats)
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),  U_N = min(N, N_U),  R_N = N / U_N - 1
where N_U is the compute-optimal model size for U_D tokens under the base law (the authors'
reference implementation in their repository, github.com/huggingface/datablations, README
"Parametric Fit"): parameters beyond it are "excess" and decay in value like repeated
tokens. Their fitted constants are R_D* = 15.4 and R_N* = 5.3: up to about 4 epochs a
repeated token is worth nearly a fresh one. The fitted form of this package (laws.forms,
`data_constrained`) takes N_U = U_D / 20 instead, because its bases cannot depend on the
amplitudes; `tokens_per_param_for_U_N` selects that rule here, for a law fitted with it.

The optimum along C = 6 N D has no closed form (the authors' repository searches a grid): a
log-spaced grid over N brackets the minimum, golden-section search refines it, vectorised
over budgets and bootstrap replicates.
"""
from __future__ import annotations

import numpy as np

from ..forms.builtin import _effective  # eq. 5's U + U R* (1 - exp(-R / R*)), the form's own
from .joint import compute_optimal, joint_loss

__all__ = ["DATA_ORDER", "data_constrained_loss", "data_constrained_optimal", "unpack_data_constrained"]

DATA_ORDER = ("E", "A", "B", "alpha", "beta", "R_D", "R_N")
_GRID = 1201           # log-spaced N per budget for the bracket
_SPAN = 1e3            # the grid covers N_chinchilla / _SPAN .. N_chinchilla * _SPAN
_GOLDEN_STEPS = 90     # golden-section steps inside the bracketing grid cell (0.618^90 ~ 1e-19)


def unpack_data_constrained(params) -> tuple[np.ndarray, ...]:
    """(E, A, B, alpha, beta, R_D, R_N) from a dict, an array (..., 7), or a tuple of 7 broadcastable arrays."""
    if isinstance(params, tuple) and len(params) == 7:
        return tuple(np.asarray(p, float) for p in params)
    if isinstance(params, dict):
        missing = [k for k in DATA_ORDER if k not in params]
        if missing:
            raise ValueError(f"params must hold {list(DATA_ORDER)} for the data-constrained law; missing {missing}")
        return tuple(np.asarray(params[k], float) for k in DATA_ORDER)
    arr = np.asarray(params, float)
    if arr.shape[-1] != 7:
        raise ValueError(f"params must have 7 values in the order {list(DATA_ORDER)}; got shape {arr.shape}")
    return tuple(arr[..., i] for i in range(7))


def _optimal_size_for_tokens(A, B, alpha, beta, D):
    """N whose compute-optimal token count is D under the base law: N = G (D G)^(beta/alpha)."""
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    return G * (D * G) ** (beta / alpha)


def data_constrained_loss(params, N, D, U, tokens_per_param_for_U_N: float | None = None):
    """Loss of N parameters trained on D tokens drawn from U unique tokens (eq. 5-6).

    tokens_per_param_for_U_N: None takes U_N from the base law's compute-optimal size for U
    tokens (the authors' rule); a number takes U_N = U / that number (the fitted form's rule)."""
    E, A, B, alpha, beta, r_d, r_n = unpack_data_constrained(params)
    N, D, U = (np.asarray(v, float) for v in (N, D, U))
    u_d = np.minimum(U, D)
    n_u = (_optimal_size_for_tokens(A, B, alpha, beta, u_d) if tokens_per_param_for_U_N is None
           else u_d / tokens_per_param_for_U_N)
    u_n = np.minimum(N, n_u)
    d_eff = _effective(u_d, D / u_d - 1.0, r_d)[0]
    n_eff = _effective(u_n, N / u_n - 1.0, r_n)[0]
    return E + A * n_eff ** -alpha + B * d_eff ** -beta


def data_constrained_optimal(params, compute, unique_tokens, tokens_per_param_for_U_N: float | None = None):
    """Compute-optimal N and D for budgets `compute` (FLOPs, C = 6ND) and `unique_tokens` U.

    Returns N_opt, D_opt, epochs (D / U), tokens_per_param, loss, effective_data_fraction
    (D' / D: what a repeated token is worth on average), and the Chinchilla allocation of the
    base law with its loss under the same data limit (N_chinchilla, D_chinchilla,
    loss_chinchilla_constrained) and without it (loss_unconstrained). at_search_edge marks a
    minimum on the edge of the searched range (N_chinchilla / 1e3 to x 1e3): with so few unique
    tokens that both effective terms saturate, the loss is flat in N and the optimum is not defined."""
    E, A, B, alpha, beta, r_d, r_n = unpack_data_constrained(params)
    C, U = np.asarray(compute, float), np.asarray(unique_tokens, float)
    if np.any(~np.isfinite(C)) or np.any(C <= 0):
        raise ValueError(f"compute must be > 0 FLOPs; got {compute!r}")
    if np.any(~np.isfinite(U)) or np.any(U <= 0):
        raise ValueError(f"unique tokens must be > 0; got {unique_tokens!r}")
    base = np.stack(np.broadcast_arrays(E, A, B, alpha, beta), axis=-1)
    chin = compute_optimal(base, C)
    shape = np.broadcast_shapes(np.shape(chin["N_opt"]), np.shape(U), np.shape(r_d))
    x = np.broadcast_to(C, shape) / 6.0
    par = tuple(np.broadcast_to(p, shape)[..., None] for p in (E, A, B, alpha, beta, r_d, r_n))
    U_ = np.broadcast_to(U, shape)[..., None]

    def loss_at(log_n):
        N = np.exp(log_n)
        return data_constrained_loss(par, N, x[..., None] / N, U_, tokens_per_param_for_U_N)

    centre = np.log(np.broadcast_to(chin["N_opt"], shape))[..., None]
    steps = np.linspace(-np.log(_SPAN), np.log(_SPAN), _GRID)
    grid = centre + steps
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        values = np.where(np.isfinite(g := loss_at(grid)), g, np.inf)
        best = np.argmin(values, axis=-1)
        cell = steps[1] - steps[0]
        at = np.take_along_axis(grid, best[..., None], axis=-1)
        lo, hi = at - cell, at + cell
        ratio = (np.sqrt(5.0) - 1.0) / 2.0
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        fa, fb = loss_at(a), loss_at(b)
        for _ in range(_GOLDEN_STEPS):
            left = fa < fb
            hi = np.where(left, b, hi)
            lo = np.where(left, lo, a)
            a_new = hi - ratio * (hi - lo)
            b_new = lo + ratio * (hi - lo)
            fa, fb = np.where(left, loss_at(a_new), fb), np.where(left, fa, loss_at(b_new))
            a, b = np.where(left, a_new, b), np.where(left, a, b_new)
    edge = (best == 0) | (best == _GRID - 1)
    log_n = 0.5 * (lo + hi)[..., 0]
    N = np.exp(log_n)
    D = x / N
    u_d = np.minimum(np.broadcast_to(U, shape), D)
    d_eff = _effective(u_d, D / u_d - 1.0, np.broadcast_to(r_d, shape))[0]
    params_flat = tuple(np.broadcast_to(p, shape) for p in (E, A, B, alpha, beta, r_d, r_n))
    loss = data_constrained_loss(params_flat, N, D, np.broadcast_to(U, shape), tokens_per_param_for_U_N)
    n_c, d_c = np.broadcast_to(chin["N_opt"], shape), np.broadcast_to(chin["D_opt"], shape)
    return {"N_opt": N, "D_opt": D, "epochs": D / np.broadcast_to(U, shape), "tokens_per_param": D / N, "loss": loss,
            "effective_data_fraction": d_eff / D,
            "N_chinchilla": n_c, "D_chinchilla": d_c,
            "loss_chinchilla_constrained": data_constrained_loss(params_flat, n_c, d_c, np.broadcast_to(U, shape),
                                                                 tokens_per_param_for_U_N),
            "loss_unconstrained": joint_loss(base, n_c, d_c) * np.ones(shape), "at_search_edge": edge}
