"""The prior law, noise model, candidate pool, the law the design is for, and the target."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ... import knowledge
from ...errors import InputError
from ...laws import get_form
from ...laws.allocation import compute_optimal
from ...laws.simulate import NoiseModel
from ...sops.design_matrix_construction import NamedValue
from .models import JOINT, PRIOR_BOUNDS, Input


def _prior(inp: Input, defaults: list[NamedValue]) -> tuple[dict[str, float], str]:
    if inp.prior_params is not None:
        missing = [k for k in JOINT if k not in inp.prior_params]
        if missing:
            raise InputError("prior_params", f"prior_params must hold {list(JOINT)}; missing {missing}")
        bad = {k: inp.prior_params[k] for k in JOINT if not (np.isfinite(inp.prior_params[k]) and
                                                               0 < inp.prior_params[k] <= PRIOR_BOUNDS[k])}
        if bad:
            raise InputError("prior_params", f"prior_params must be finite, > 0 and at most {PRIOR_BOUNDS}; got {bad}")
        return {k: float(inp.prior_params[k]) for k in JOINT}, "prior_params (given)"
    try:
        law = knowledge.published_law(inp.prior_law)
    except KeyError as exc:
        raise InputError("prior_law", str(exc).strip('"')) from None
    if law.get("form") != "chinchilla":
        raise InputError("prior_law", f"prior_law must be a joint law (form 'chinchilla'); got {inp.prior_law!r}")
    if inp.prior_law == "epoch":
        defaults.append(NamedValue(name="prior_law", value="epoch", source=law["source"]))
    return {k: float(law["params"][k]) for k in JOINT}, law["source"]


def _noise(inp: Input, defaults: list[NamedValue]) -> NoiseModel:
    if inp.noise_sigma is not None:
        return NoiseModel(kind=inp.noise_kind, sigma=inp.noise_sigma)
    d = knowledge.defaults()["noise"]
    sigma = float(d["log_residual_sd_epoch"]) if inp.noise_kind == "log-constant" else float(d["seed_sd_nats"])
    defaults.append(NamedValue(name="noise_sigma", value=sigma, source=d["source"]))
    return NoiseModel(kind=inp.noise_kind, sigma=sigma)


def _pool(inp: Input, defaults: list[NamedValue]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates X (n, 2), their FLOPs, and grid level indices (for the thinned-grid comparison)."""
    if inp.candidates:
        X = np.array([[c.N, c.D] for c in inp.candidates], float)
        flops = np.array([c.cost_flops if c.cost_flops is not None else 6.0 * c.N * c.D for c in inp.candidates])
        order = np.lexsort((X[:, 1], X[:, 0]))  # the "grid" order for even thinning: by N, then D
        levels = np.empty((len(X), 1), int)
        levels[order, 0] = np.arange(len(X))
        return X, flops, levels
    Ns = np.geomspace(inp.n_min, inp.n_max, inp.n_count)
    ratios = np.geomspace(inp.tokens_per_param_min, inp.tokens_per_param_max, inp.tokens_per_param_count)
    defaults.append(NamedValue(name="candidates", value=f"{inp.n_count} sizes {inp.n_min:g}-{inp.n_max:g} x "
                               f"{inp.tokens_per_param_count} tokens/param {inp.tokens_per_param_min:g}-"
                               f"{inp.tokens_per_param_max:g}, geometric",
                               source="geometric spacing in N and D/N; varying D/N at each N separates alpha from beta "
                                      "(Hoffmann et al. 2022, sections 3.1-3.3)"))
    X = np.array([(n, r * n) for n in Ns for r in ratios])
    levels = np.array([(i, j) for i in range(len(Ns)) for j in range(len(ratios))])
    return X, 6.0 * X[:, 0] * X[:, 1], levels


@dataclass(frozen=True)
class _Law:
    """The law the design is optimal for: the joint law, or a one-axis saturating law when the pool
    varies only N (D fixed) or only D (N fixed), as model- and data-scaling studies do."""

    form: Any
    params: dict[str, float]
    source: str
    axis: str | None = None        # None: joint in (N, D); "N" or "D": the varied axis
    fixed: float | None = None     # the value of the other axis

    def X(self, XND: np.ndarray) -> np.ndarray:
        XND = np.asarray(XND, float).reshape(-1, 2)
        return XND if self.axis is None else XND[:, [0 if self.axis == "N" else 1]]


def _one_axis(joint: dict[str, float], axis: str, fixed: float) -> dict[str, float]:
    """Epoch-style joint law with one resource held fixed: L(x) = E' + A' x^-alpha'."""
    if axis == "N":
        return {"E": joint["E"] + joint["B"] * fixed ** -joint["beta"], "A": joint["A"], "alpha": joint["alpha"]}
    return {"E": joint["E"] + joint["A"] * fixed ** -joint["alpha"], "A": joint["B"], "alpha": joint["beta"]}


def _choose_law(inp: Input, joint: dict[str, float], source: str, X: np.ndarray, done_X: np.ndarray) -> _Law:
    allX = np.vstack([X, done_X])
    varies = [len(np.unique(allX[:, j])) > 1 for j in (0, 1)]
    if varies[0] == varies[1] or inp.target == "n_opt":
        if inp.target == "n_opt" and not all(varies):
            raise InputError("candidates", "target 'n_opt' needs candidates that vary both N and D (a joint law); "
                                           "this pool holds one of them fixed")
        return _Law(get_form("chinchilla"), joint, source)
    axis, other = ("N", 1) if varies[0] else ("D", 0)
    fixed = float(allX[0, other])
    asked = inp.target_D if axis == "N" else inp.target_N
    if inp.target == "loss" and asked is not None and not np.isclose(asked, fixed, rtol=1e-9):
        return _Law(get_form("chinchilla"), joint, source)  # the target leaves the pool's line: keep the joint law
    held = f"{'D' if axis == 'N' else 'N'} = {fixed:.4g}"
    return _Law(get_form("saturating"), _one_axis(joint, axis, fixed), f"{source}, with {held} held fixed",
                axis, fixed)


def _target(inp: Input, law: _Law) -> tuple[dict[str, Any], Callable, list[str], np.ndarray]:
    """Target description, function of public values -> (q,), component names, and the target point (N, D)."""
    form, params = law.form, law.params
    if inp.target == "exponents":
        names = ["alpha", "beta"] if law.axis is None else ["alpha"]
        where = [form.param_names.index(n) for n in names]
        info = {"quantity": "exponents", **{n: params[n] for n in names},
                "units": "absolute error of the exponents (combined as the root sum of squares)"}
        if law.axis is not None:
            info["law"] = f"one-axis law in {law.axis}: alpha is the {law.axis} exponent"
        return info, (lambda v: np.asarray(v, float)[where]), names, np.empty((0, 2))
    if inp.target == "n_opt":
        C = inp.target_compute
        opt = compute_optimal(params, C)
        return ({"quantity": "N_opt", "compute": C, "prior_value": float(opt["N_opt"]),
                 "prior_D_opt": float(opt["D_opt"]), "units": "sd of log N_opt (relative error)"},
                lambda v: np.log(compute_optimal(v, C)["N_opt"]).reshape(1), ["log_N_opt"],
                np.array([[float(opt["N_opt"]), float(opt["D_opt"])]]))
    if inp.target_N is None and inp.target_D is None:
        opt = compute_optimal(_joint_of(inp, law), inp.target_compute)
        N, D, where = float(opt["N_opt"]), float(opt["D_opt"]), f"prior compute-optimal point of C={inp.target_compute:g}"
    else:
        N, D, where = inp.target_N, inp.target_D, "given"
        if N is None or D is None:
            if law.axis is None:
                missing = "target_N" if N is None else "target_D"
                raise InputError(missing, f"{missing} must be given: the candidate pool varies both N and D")
            N = N if N is not None else law.fixed
            D = D if D is not None else law.fixed
            where = "given, the other axis at the pool's fixed value"
    Xt = np.array([[N, D]])
    Xf = law.X(Xt)
    return ({"quantity": "loss", "N": N, "D": D, "where": where, "prior_value": float(form.predict(params, Xf)[0]),
             "units": "sd of log loss (relative error)"},
            lambda v: np.log(form.predict(v, Xf)), ["log_loss"], Xt)


def _joint_of(inp: Input, law: _Law) -> dict[str, float]:
    if law.axis is None:
        return law.params
    raise InputError("target_compute", "a loss target at `target_compute` needs a pool that varies N and D; give "
                                       "`target_N` or `target_D` on the pool's axis instead")
