"""The two variants of compute_optimal_allocation: inference-aware and data-constrained.

Each takes the law's parameters (and, when the law came with them, its bootstrap replicates)
and returns one row block per compute budget; the numerics are in laws.allocation.
"""
from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from .. import knowledge
from ..errors import InputError
from ..laws import allocation
from ..laws.allocation.data_constrained import DATA_ORDER

__all__ = ["Band", "InferenceAware", "DataConstrained", "inference_rows", "data_constrained_rows",
           "data_constrained_params", "CHINCHILLA_TOKENS_PER_PARAM"]

CHINCHILLA_TOKENS_PER_PARAM = 20.0   # Hoffmann et al. 2022 (and Besiroglu et al. 2024's refit): ~20 at the optimum
FOUR_EPOCHS = 4.0                    # Muennighoff et al. 2023: up to ~4 epochs repeated data is nearly as good as fresh


class Band(BaseModel):
    low: float
    high: float
    level: float


class InferenceAware(BaseModel):
    inference_tokens: float = Field(description="Lifetime inference tokens (prompt plus generated) the model will serve.")
    target_loss: float = Field(description="The loss to reach: that of the compute-optimal model at this row's compute.")
    N_opt: float = Field(description="Parameters minimising training plus inference FLOPs at the target loss.")
    D_opt: float = Field(description="Training tokens of that model.")
    tokens_per_param: float = Field(description="D_opt / N_opt (the Chinchilla optimum is about 20).")
    tokens_per_param_chinchilla: float = Field(description="D / N of the compute-optimal model of the same loss.")
    size_ratio: float = Field(description="N_opt over the compute-optimal model's N (below 1: a smaller model trained longer).")
    data_ratio: float = Field(description="D_opt over the compute-optimal model's D.")
    training_flops: float = Field(description="6 N_opt D_opt.")
    inference_flops: float = Field(description="2 N_opt x inference tokens.")
    total_flops: float = Field(description="Training plus inference FLOPs of the inference-aware model.")
    total_flops_chinchilla: float = Field(description="Training plus the same inference FLOPs of the compute-optimal model.")
    savings: float = Field(description="1 - total_flops / total_flops_chinchilla: the share of lifetime FLOPs saved.")
    intervals: dict[str, Band] | None = Field(None, description="Bootstrap intervals (from a law that carries replicates).")


class DataConstrained(BaseModel):
    unique_tokens: float = Field(description="Unique training tokens available.")
    N_opt: float = Field(description="Parameters minimising the data-constrained loss at this compute.")
    D_opt: float = Field(description="Training tokens, repeats included.")
    epochs: float = Field(description="D_opt / unique tokens.")
    tokens_per_param: float
    loss: float = Field(description="Predicted loss at the data-constrained optimum.")
    effective_data_fraction: float = Field(description="D' / D: what a trained token is worth on average (1 = all fresh).")
    N_chinchilla: float = Field(description="The base law's compute-optimal N (repetition ignored).")
    D_chinchilla: float = Field(description="The base law's compute-optimal D.")
    epochs_chinchilla: float = Field(description="Epochs the Chinchilla allocation would need over the unique tokens.")
    loss_chinchilla_constrained: float = Field(description="Loss of the Chinchilla allocation once repetition is counted.")
    loss_unconstrained: float = Field(description="Loss of the Chinchilla allocation if every token were fresh.")
    R_D: float = Field(description="Decay constant of repeated tokens used (Muennighoff et al. 2023: 15.4).")
    R_N: float = Field(description="Decay constant of excess parameters used (Muennighoff et al. 2023: 5.3).")
    u_n_tokens_per_param: float | None = Field(description=(
        "Rule for U_N, the size beyond which parameters are excess: null = the base law's compute-optimal N for the "
        "unique tokens (the authors' rule); a number r = unique tokens / r (the fitted form's rule)."))
    intervals: dict[str, Band] | None = Field(None, description="Bootstrap intervals (from a law that carries replicates).")


def _bands(boot: dict[str, np.ndarray] | None, i: int, keys, level: float) -> dict[str, Band] | None:
    if boot is None:
        return None
    tail = (1 - level) / 2
    out = {}
    for k in keys:
        v = boot[k][i]
        v = v[np.isfinite(v)]
        if v.size:
            out[k] = Band(low=float(np.quantile(v, tail)), high=float(np.quantile(v, 1 - tail)), level=level)
    return out


def inference_rows(params: dict, reps: np.ndarray | None, compute: np.ndarray, tokens: float, level: float) -> list[InferenceAware]:
    """Sardana et al. 2024: for each budget, the loss of its compute-optimal model as the target."""
    joint = {k: params[k] for k in allocation.JOINT_ORDER}
    target = allocation.compute_optimal(joint, compute)["loss"]
    res = allocation.inference_optimal(joint, target, tokens)
    boot = None
    if reps is not None:
        reps5 = reps[:, :5]
        with np.errstate(all="ignore"):
            boot = allocation.inference_optimal(reps5, allocation.compute_optimal(reps5, compute[:, None])["loss"], tokens)
    rows = []
    for i in range(len(compute)):
        r = {k: float(v[i]) for k, v in res.items()}
        rows.append(InferenceAware(
            inference_tokens=float(tokens), target_loss=r["loss"], N_opt=r["N_opt"], D_opt=r["D_opt"],
            tokens_per_param=r["tokens_per_param"], tokens_per_param_chinchilla=r["D_chinchilla"] / r["N_chinchilla"],
            size_ratio=r["N_opt"] / r["N_chinchilla"], data_ratio=r["D_opt"] / r["D_chinchilla"],
            training_flops=r["training_flops"], inference_flops=r["inference_flops"], total_flops=r["total_flops"],
            total_flops_chinchilla=r["total_flops_chinchilla"], savings=r["savings"],
            intervals=_bands(boot, i, ("N_opt", "D_opt", "tokens_per_param", "savings"), level)))
    return rows


def data_constrained_params(params: dict, fitted: bool, warnings: list[dict]) -> tuple[dict, float | None, str]:
    """The data-constrained law's 7 parameters, its rule for U_N, and a note on where they came from.

    A fitted law keeps the fitted form's U_N = U / 20; the published law the authors' rule; a
    joint law borrows Muennighoff et al.'s fitted decay constants R_D* and R_N*."""
    if "R_D" in params and "R_N" in params:
        if fitted:
            from ..laws.forms import DATA_CONSTRAINED_TOKENS_PER_PARAM
            return params, DATA_CONSTRAINED_TOKENS_PER_PARAM, "the fitted data-constrained law (U_N = U / 20, as fitted)"
        return params, None, "the data-constrained law (U_N = the base law's compute-optimal N for U tokens)"
    published = knowledge.published_law("muennighoff")["params"]
    warnings.append({"code": "decay_constants_borrowed", "severity": "warning", "message": (
        f"this joint law has no repetition terms: Muennighoff et al. 2023's decay constants R_D* = {published['R_D']:g} "
        f"and R_N* = {published['R_N']:g} (fitted with their own base law) are applied to it; fit your runs with "
        "--form data_constrained (a U column) for your own, or pass law='muennighoff'")})
    return ({**params, "R_D": published["R_D"], "R_N": published["R_N"]}, None,
            "the joint law with Muennighoff et al. 2023's decay constants")


def data_constrained_rows(params: dict, rule: float | None, reps: np.ndarray | None, compute: np.ndarray,
                          unique: float, level: float, warnings: list[dict]) -> list[DataConstrained]:
    """Muennighoff et al. 2023: the optimum along C = 6ND when only `unique` tokens exist."""
    vec = np.array([params[k] for k in DATA_ORDER], float)
    with np.errstate(all="ignore"):
        res = allocation.data_constrained_optimal(vec, compute, unique, rule)
    edge = res.pop("at_search_edge")
    if not all(np.all(np.isfinite(v)) for v in res.values()):
        raise InputError("unique_tokens", f"the data-constrained optimum is not finite for {unique:g} unique tokens "
                         f"under these law parameters {params}")
    boot = None
    if reps is not None and reps.shape[1] == 7:
        with np.errstate(all="ignore"):
            boot = allocation.data_constrained_optimal(reps, compute[:, None], unique, rule)
        boot = {k: np.where(boot["at_search_edge"], np.nan, v) for k, v in boot.items() if k != "at_search_edge"}
    rows = []
    for i, c in enumerate(compute):
        r = {k: float(v[i]) for k, v in res.items()}
        epochs_c = r["D_chinchilla"] / unique
        rows.append(DataConstrained(unique_tokens=float(unique), epochs_chinchilla=epochs_c, R_D=float(params["R_D"]),
                                    R_N=float(params["R_N"]), u_n_tokens_per_param=rule,
                                    intervals=_bands(boot, i, ("N_opt", "D_opt", "epochs", "loss"), level), **r))
        if edge[i]:
            warnings.append({"code": "optimum_not_defined", "severity": "warning", "message": (
                f"C = {c:.3g}: with {unique:.3g} unique tokens both the repeated data and the excess parameters are "
                f"saturated ({r['epochs']:.3g} epochs at the search edge): the loss is flat in N, so no size is "
                "optimal; this compute cannot be used well with so little data")})
        elif r["epochs"] > FOUR_EPOCHS:
            warnings.append({"code": "many_epochs", "severity": "info", "message": (
                f"C = {c:.3g}: the optimum repeats the unique tokens {r['epochs']:.1f} times; beyond about 4 epochs "
                "repeated tokens lose value fast (Muennighoff et al. 2023), so more unique data would pay: each trained "
                f"token is worth {r['effective_data_fraction']:.2f} of a fresh one on average")})
    return rows
