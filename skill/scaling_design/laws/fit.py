"""The global fitter: variable projection over a multi-start of the nonlinear
parameters, then a trust-region polish of all parameters on the true objective.

Why this shape: the joint law is badly conditioned in its five parameters, and a
grid of full 5-D starts (Hoffmann's 4,500 L-BFGS runs) is slow and still fragile.
For fixed exponents the amplitudes (E, A, B) are linear, so each exponent start gets
its exact non-negative least-squares amplitudes (relative-error weighted for log
objectives); the best few starts are then polished on the real objective with
scipy's trust-region least squares, whose 'huber' loss is exactly the summed Huber.
Polishing works in log space for the amplitudes and positive scales, as Hoffmann did.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.special import ndtri  # the normal quantile; scipy.stats costs 0.5 s to import

from .forms import LawForm, as_design, get_form
from .objectives import DEFAULT_DELTA, check_objective, is_log, psi, rho, scipy_loss
from .results import Diagnostic, Interval, LawInputError

__all__ = ["FitResult", "OptimizerReport", "fit", "validate_data", "objective_value", "Polisher"]

TOP_STARTS = 4          # variable-projection starts that get a full polish
AGREE_RTOL = 1e-6       # starts "agree" when their objectives match to this relative tolerance
GRAD_TOL = 1e-4         # converged when |grad|_inf <= GRAD_TOL * objective (scale-free)
AMP_FLOOR = 1e-10       # smallest amplitude (relative to max loss) the log-space polish represents
POLISH_TOL = 1e-12     # a 1e-15 tolerance moved the objective by < 1e-15 relative and cost ~2x the steps
VALUE_RANGE = (1e-30, 1e30)  # scales and losses outside it overflow products like 6ND or powers like N^-alpha


@dataclass(frozen=True)
class OptimizerReport:
    """How the optimum was reached: reported, not hidden."""

    n_grid: int
    n_polished: int
    n_agree: int
    grad_norm: float
    status: int
    message: str
    nfev: int
    objectives_of_starts: tuple[float, ...]


@dataclass(frozen=True)
class FitResult:
    """One immutable fit. Parameters are the reported (public) ones, by name."""

    form: LawForm
    values: np.ndarray
    objective_name: str
    delta: float
    objective: float
    n_runs: int
    converged: bool
    optimizer: OptimizerReport
    diagnostics: tuple[Diagnostic, ...]
    residuals: np.ndarray
    sigma_log: float
    covariance: np.ndarray | None
    data_range: dict[str, tuple[float, float]]
    internal_values: np.ndarray
    bootstrap: Any = None  # laws.bootstrap.BootstrapResult once attached
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, float]:
        return self.form.as_dict(self.values)

    @property
    def standard_errors(self) -> dict[str, float]:
        """Bootstrap SEs when a bootstrap is attached, else the asymptotic ones."""
        if self.bootstrap is not None:
            return self.form.as_dict(self.bootstrap.se)
        if self.covariance is None:
            return {n: float("nan") for n in self.form.param_names}
        return self.form.as_dict(np.sqrt(np.clip(np.diag(self.covariance), 0, None)))

    def predict(self, X) -> np.ndarray:
        return self.form.predict(self.values, X)

    def interval(self, name: str, level: float = 0.95) -> Interval:
        """Percentile bootstrap interval when available, else a Wald interval."""
        if name not in self.form.param_names:
            raise KeyError(f"name must be one of {list(self.form.param_names)}; got {name!r}")
        if self.bootstrap is not None:
            return self.bootstrap.interval(name, level)
        i = self.form.param_names.index(name)
        se = np.sqrt(self.covariance[i, i]) if self.covariance is not None else np.nan
        z = ndtri(0.5 + level / 2)
        return Interval(self.values[i] - z * se, self.values[i] + z * se, level)

    def with_bootstrap(self, boot) -> "FitResult":
        diags = self.diagnostics + tuple(boot.diagnostics)
        return replace(self, bootstrap=boot, diagnostics=diags)

    def predict_interval(self, X, level: float = 0.95, kind: str = "mean", seed: int = 0):
        """Intervals for predictions at X: kind='mean' for the law itself,
        'prediction' for a new run (adds the residual scale in log space).
        Returns (prediction, low, high) arrays."""
        if kind not in ("mean", "prediction"):
            raise ValueError(f"kind must be 'mean' or 'prediction'; got {kind!r}")
        X = as_design(self.form, X)
        pred = self.predict(X)
        tail = (1 - level) / 2
        if self.bootstrap is not None:
            logs = np.log(self.bootstrap.predict(X))
            if kind == "prediction":
                rng = np.random.default_rng(seed)
                logs = logs + rng.normal(0.0, self.sigma_log, size=logs.shape)
            lo, hi = np.quantile(logs, [tail, 1 - tail], axis=0)
            return pred, np.exp(lo), np.exp(hi)
        J = self.form.jacobian(self.values, X) / pred[:, None]
        var = np.einsum("ij,jk,ik->i", J, self.covariance, J) if self.covariance is not None else np.full(len(pred), np.nan)
        if kind == "prediction":
            var = var + self.sigma_log**2
        half = ndtri(1 - tail) * np.sqrt(var)
        return pred, pred * np.exp(-half), pred * np.exp(half)

    def extrapolation(self, X) -> list[dict[str, float | bool]]:
        """Per point: whether it lies outside the fitted range and by how many decades."""
        X = as_design(self.form, X)
        out = []
        for row in X:
            decades = 0.0
            for j, name in enumerate(self.form.inputs):
                lo, hi = self.data_range[name]
                decades = max(decades, np.log10(row[j] / hi), np.log10(lo / row[j]))
            out.append({"extrapolates": bool(decades > 1e-9), "decades_beyond_data": float(max(decades, 0.0))})
        return out

    def model_dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "form": self.form.name,
            "equation": self.form.equation,
            "params": self.params,
            "standard_errors": self.standard_errors,
            "objective": self.objective_name,
            "delta": self.delta if self.objective_name == "huber-log" else None,
            "objective_value": self.objective,
            "n_runs": self.n_runs,
            "converged": self.converged,
            "sigma_log": self.sigma_log,
            "optimizer": {
                "n_grid_starts": self.optimizer.n_grid, "n_polished": self.optimizer.n_polished,
                "n_starts_agreeing": self.optimizer.n_agree, "grad_norm": self.optimizer.grad_norm,
                "status": self.optimizer.status, "message": self.optimizer.message, "nfev": self.optimizer.nfev,
            },
            "warnings": [d.as_dict() for d in self.diagnostics],
            "data_range": {k: list(v) for k, v in self.data_range.items()},
        }
        if self.bootstrap is not None:
            out["intervals"] = {n: self.bootstrap.interval(n).as_dict() for n in self.form.param_names}
            out["bootstrap"] = self.bootstrap.summary()
        return out


# -- validation ------------------------------------------------------------------------
def validate_data(form: LawForm, X, y, weights=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check the data once, up front; raise LawInputError naming the field."""
    try:
        X = np.asarray(X, float)
        y = np.asarray(y, float)
    except (TypeError, ValueError) as exc:
        raise LawInputError("data", f"values must be numbers; {exc}") from None
    if X.ndim == 1 and len(form.inputs) == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != len(form.inputs):
        raise LawInputError("X", f"form {form.name!r} needs columns {list(form.inputs)}; got an array of shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise LawInputError("loss", f"must be one value per run ({X.shape[0]} runs); got shape {y.shape}")
    columns = dict(zip(form.inputs, X.T)) | {"loss": y}
    for name, col in columns.items():
        bad = np.flatnonzero(~np.isfinite(col))
        if bad.size:
            raise LawInputError(name, f"{name} has {bad.size} non-finite values (NaN or inf) at rows {bad[:5].tolist()}; remove or fix those runs")
        bad = np.flatnonzero(col <= 0)
        if bad.size:
            raise LawInputError(name, f"{name} must be > 0 (power laws work in log space); got {float(col[bad[0]])!r} at rows {bad[:5].tolist()}")
        bad = np.flatnonzero((col < VALUE_RANGE[0]) | (col > VALUE_RANGE[1]))
        if bad.size:
            raise LawInputError(name, f"{name} must lie in [{VALUE_RANGE[0]:g}, {VALUE_RANGE[1]:g}] (the range the fitter "
                                      f"represents without overflow); got {float(col[bad[0]])!r} at rows {bad[:5].tolist()}")
    if X.shape[0] < form.n_params:
        raise LawInputError("runs", f"form {form.name!r} has {form.n_params} parameters {list(form.param_names)} and needs at least that many runs; got {X.shape[0]}")
    for name, col in zip(form.inputs, X.T):
        if name == "U":
            continue
        if np.unique(col).size < 2:
            raise LawInputError(name, f"{name} has a single distinct scale ({col[0]:.4g}); a law in {name} needs runs at 2 or more scales, ideally 4-8 spanning 1-2 decades")
    w = None
    if weights is not None:
        w = np.asarray(weights, float)
        if w.shape != y.shape or not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
            raise LawInputError("weights", f"weights must be one finite value >= 0 per run (not all zero); got shape {w.shape}")
    return X, y, w


@dataclass(frozen=True)
class _FailedPolish:
    """What a polish returns when every attempt overflowed: the start, marked as not converged."""

    x: np.ndarray
    status: int = 0
    message: str = "the law overflowed (non-finite residuals) at every polish start"
    nfev: int = 0


# -- the polish ------------------------------------------------------------------------
class Polisher:
    """The objective, its residuals and Jacobian in the polish coordinates z.

    z holds log amplitudes and log positive scales; exponents stay linear. Reused by
    the bootstrap and the Monte Carlo, which polish many data sets from a warm start.
    """

    def __init__(self, form: LawForm, X: np.ndarray, y: np.ndarray, weights, objective: str, delta: float):
        self.form, self.X, self.y, self.objective, self.delta = form, X, y, objective, delta
        self.w = weights
        self.logs = np.array([n in form.amplitudes or n in form.log_params for n in form.internal_names])
        floor = np.log(AMP_FLOOR * float(np.max(y)))
        lo, hi = [], []
        for n, is_log_param in zip(form.internal_names, self.logs):
            b_lo, b_hi = form.bounds.get(n, (-np.inf, np.inf))
            if is_log_param:
                lo.append(max(np.log(b_lo), floor) if b_lo > 0 else floor)
                hi.append(np.log(b_hi) if np.isfinite(b_hi) else np.inf)
            else:
                lo.append(b_lo)
                hi.append(b_hi)
        self.lower, self.upper = np.array(lo), np.array(hi)
        self.target = np.log(y) if is_log(objective) else y
        self.sqrt_w = None if (weights is None or objective == "huber-log") else np.sqrt(weights)
        self.loss = scipy_loss(weights, objective)

    def to_z(self, internal: np.ndarray) -> np.ndarray:
        z = np.array(internal, float)
        z[self.logs] = np.log(np.maximum(z[self.logs], np.exp(self.lower[self.logs])))
        return np.clip(z, self.lower, self.upper)

    def from_z(self, z: np.ndarray) -> np.ndarray:
        v = np.array(z, float)
        v[self.logs] = np.exp(v[self.logs])
        return v

    def residuals(self, z: np.ndarray) -> np.ndarray:
        pred = self.form.predict_internal(self.from_z(z), self.X)
        r = (np.log(np.maximum(pred, 1e-300)) if is_log(self.objective) else pred) - self.target
        return r if self.sqrt_w is None else r * self.sqrt_w

    def jac(self, z: np.ndarray) -> np.ndarray:
        v = self.from_z(z)
        J = self.form.jacobian_internal(v, self.X)
        J[:, self.logs] *= v[self.logs]
        if is_log(self.objective):
            J /= np.maximum(self.form.predict_internal(v, self.X), 1e-300)[:, None]
        return J if self.sqrt_w is None else J * self.sqrt_w[:, None]

    def value(self, z: np.ndarray) -> float:
        r = self.residuals(z)
        if self.sqrt_w is not None:  # weights already inside r for squared objectives
            return float(np.sum(0.5 * r * r))
        per_run = rho(r, self.objective, self.delta)
        return float(np.sum(per_run if self.w is None else self.w * per_run))

    def values_of_predictions(self, preds: np.ndarray) -> np.ndarray:
        """The objective for each row of predictions (G, n), without re-evaluating the basis."""
        r = (np.log(np.maximum(preds, 1e-300)) if is_log(self.objective) else preds) - self.target
        per_run = rho(r, self.objective, self.delta)
        return np.sum(per_run if self.w is None else self.w * per_run, axis=1)

    def gradient(self, z: np.ndarray) -> np.ndarray:
        r = self.residuals(z)
        if self.sqrt_w is not None:
            return self.jac(z).T @ r
        g = psi(r, self.objective, self.delta)
        return self.jac(z).T @ (g if self.w is None else self.w * g)

    def polish(self, z0: np.ndarray, max_nfev: int = 2000):
        """Trust-region polish. Unbounded first (about a third cheaper per step); only a
        solution that leaves the bounds is polished again with the bounds enforced."""
        z0 = np.clip(z0, self.lower + 1e-12, self.upper - 1e-12)
        kwargs = dict(jac=self.jac, method="trf", loss=self.loss,
                      x_scale="jac", xtol=POLISH_TOL, ftol=POLISH_TOL, gtol=POLISH_TOL, max_nfev=max_nfev)
        if self.objective == "huber-log":
            kwargs["f_scale"] = self.delta
        try:
            sol = least_squares(self.residuals, z0, **kwargs)
        except ValueError:  # the unbounded step reached parameters where the law overflows: polish within bounds
            sol = None
        if sol is not None and np.all(np.isfinite(sol.x)) and np.all(sol.x >= self.lower) and \
                np.all(sol.x <= self.upper):
            return sol
        z1 = z0 if sol is None else np.clip(np.nan_to_num(sol.x, nan=0.0), self.lower + 1e-12, self.upper - 1e-12)
        for start in (z1, z0):  # the clipped solution can sit where the law overflows; then the start itself
            try:
                return least_squares(self.residuals, start, bounds=(self.lower, self.upper), **kwargs)
            except ValueError:
                continue
        return _FailedPolish(z0)

    def converged(self, sol) -> tuple[bool, float]:
        """Converged: scipy reports success and the objective's gradient is at noise level
        (relative to the objective, so the test is scale-free)."""
        g = self.gradient(sol.x)
        free = (sol.x > self.lower + 1e-8) & (sol.x < self.upper - 1e-8)  # bound-active params excluded
        gnorm = float(np.max(np.abs(g[free]))) if free.any() else 0.0
        value = self.value(sol.x)
        ok = bool(sol.status > 0 and gnorm <= GRAD_TOL * value + 1e-12)
        return ok, gnorm


# -- variable projection starts -------------------------------------------------------------
def _projected_starts(form: LawForm, grid: np.ndarray, X, y, w, objective) -> tuple[np.ndarray, np.ndarray]:
    """Exact non-negative amplitudes for each row of nonlinear parameters in `grid`.

    Weighted least squares on the loss (minus the form's offset), with relative-error
    weights for log objectives (a first-order match to log residuals). Solved for all grid
    points at once by the normal equations; the few whose unconstrained solution has a
    negative amplitude are re-solved by NNLS. Returns (predictions per kept start, internal
    parameter vectors).
    """
    row_w = np.ones_like(y) if w is None else np.sqrt(w)
    if is_log(objective):
        row_w = row_w / y
    phis = np.stack([form.basis(theta, X)[0] for theta in grid])          # (G, n, k)
    offsets = np.stack([form.offset_values(theta, X) for theta in grid])  # (G, n)
    A = phis * row_w[None, :, None]
    b = (y[None, :] - offsets) * row_w[None, :]
    finite = np.all(np.isfinite(A), axis=(1, 2)) & np.all(np.isfinite(b), axis=1)
    A, b, grid, phis, offsets = A[finite], b[finite], grid[finite], phis[finite], offsets[finite]
    k = A.shape[2]
    if k == 0:  # no amplitudes: every finite start stands as it is
        return offsets, grid
    AtA = np.einsum("gnk,gnl->gkl", A, A)
    Atb = np.einsum("gnk,gn->gk", A, b)
    amps = np.full(Atb.shape, -1.0)
    well_posed = np.linalg.cond(AtA) < 1e14
    amps[well_posed] = np.linalg.solve(AtA[well_posed], Atb[well_posed][..., None])[..., 0]
    for g in np.flatnonzero(np.any(amps < 0, axis=1)):
        amps[g] = nnls(A[g], b[g])[0]
    keep = np.any(amps > 0, axis=1)
    preds = np.einsum("gnk,gk->gn", phis[keep], amps[keep]) + offsets[keep]
    return preds, np.concatenate([amps[keep], grid[keep]], axis=1)


def _starts(form: LawForm, X, y, w, objective, polisher: Polisher, extra: list[np.ndarray], top: int):
    grid = form.start_grid(X)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        preds, candidates = _projected_starts(form, grid, X, y, w, objective)
        zs = np.array([polisher.to_z(v) for v in candidates])
        values = polisher.values_of_predictions(preds)
    order = [i for i in np.argsort(values) if np.isfinite(values[i])][:top]
    chosen = [zs[i] for i in order] + [polisher.to_z(form.internal(e)) for e in extra]
    return chosen, len(grid), [float(values[i]) for i in order]


def _seed_starts(form: LawForm, X, y, w, objective, delta) -> list[np.ndarray]:
    """Starts from the fit of a simpler form the family contains (e.g. Farseer from the joint law):
    the global search of the simpler form is cheap and lands in the right basin."""
    if form.seed_from is None:
        return []
    name, mapping = form.seed_from
    try:
        seed = fit(name, X, y, objective=objective, delta=delta, weights=w, top_starts=2)
    except (LawInputError, ValueError):
        return []
    start = np.asarray(mapping(seed.values), float)
    return [start] if np.all(np.isfinite(start)) else []


def fit(form: LawForm | str, X, y, *, objective: str = "huber-log", delta: float = DEFAULT_DELTA,
        weights=None, starts: list | None = None, top_starts: int = TOP_STARTS) -> FitResult:
    """Fit a law to runs X (n, len(form.inputs)) with losses y.

    starts: optional extra starting points (public parameter arrays) polished alongside
    the best `top_starts` variable-projection starts.
    """
    form = get_form(form) if isinstance(form, str) else form
    objective = check_objective(objective, delta)
    X, y, w = validate_data(form, X, y, weights)
    polisher = Polisher(form, X, y, w, objective, delta)
    extra = [np.asarray(s, float) for s in (starts or [])] + _seed_starts(form, X, y, w, objective, delta)
    chosen, n_grid, start_values = _starts(form, X, y, w, objective, polisher, extra, top_starts)
    if not chosen:
        raise LawInputError("data", f"no start of form {form.name!r} gave a finite objective; check the data's units")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        sols = [polisher.polish(z) for z in chosen]
        values = np.array([polisher.value(s.x) for s in sols])
    best = int(np.nanargmin(values))
    sol = sols[best]
    agree = int(np.sum(values <= values[best] * (1 + AGREE_RTOL) + 1e-15))
    ok, gnorm = polisher.converged(sol)
    report = OptimizerReport(n_grid, len(sols), agree, gnorm, int(sol.status), str(sol.message),
                             int(sum(s.nfev for s in sols)), tuple(float(v) for v in start_values))
    return _assemble(form, X, y, polisher, sol.x, float(values[best]), ok, report)


def _assemble(form, X, y, polisher: Polisher, z, value, ok, report) -> FitResult:
    internal = polisher.from_z(z)
    public = form.public(internal)
    pred = form.predict_internal(internal, X)
    log_resid = np.log(pred) - np.log(y)
    sigma = float(1.4826 * np.median(np.abs(log_resid - np.median(log_resid))))  # robust scale
    cov = _covariance(form, polisher, z, internal, public, X, pred, log_resid)
    data_range = {n: (float(np.min(c)), float(np.max(c))) for n, c in zip(form.inputs, X.T)}
    diags = _diagnostics(form, X, polisher, z, public, cov, ok, report)
    return FitResult(form, public, polisher.objective, polisher.delta, value, len(y), ok, report,
                     tuple(diags), log_resid, sigma, cov, data_range, internal)


def _covariance(form, polisher, z, internal, public, X, pred, log_resid):
    """Asymptotic covariance of the public parameters: Gauss-Newton with the residual
    variance of the log residuals, mapped by the delta method. An approximation; the
    bootstrap is the reported uncertainty when it is run."""
    n, p = X.shape[0], form.n_params
    if n <= p:
        return None
    J = form.jacobian_internal(internal, X) / pred[:, None]
    s2 = float(np.sum(log_resid**2) / (n - p))  # the plain residual variance: the robust MAD is smaller and understates
    try:
        cov_int = s2 * np.linalg.pinv(J.T @ J, rcond=1e-15)
    except np.linalg.LinAlgError:
        return None
    if form.public_jacobian is not None:
        D = np.linalg.inv(form.public_jacobian(public))  # d public / d internal
        return D @ cov_int @ D.T
    return cov_int


def _diagnostics(form, X, polisher, z, public, cov, ok, report) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    if not ok:
        diags.append(Diagnostic("optimizer_nonconvergence",
                                f"the polish stopped with gradient norm {report.grad_norm:.3g} ({report.message}); treat the parameters with caution"))
    if report.n_polished > 1 and report.n_agree < 2:
        diags.append(Diagnostic("starts_disagree",
                                "only the best start reached the optimum; other starts stopped at different local optima",
                                severity="info"))
    names = form.internal_names
    for i, name in enumerate(names):
        if z[i] <= polisher.lower[i] + 1e-6 or z[i] >= polisher.upper[i] - 1e-6:
            where = "lower" if z[i] <= polisher.lower[i] + 1e-6 else "upper"
            shown = form.param_names[i] if form.public_names is None else name
            diags.append(Diagnostic("parameter_at_bound", f"{shown} sits at its {where} bound; the data do not pin it down",
                                    param=shown))
    if "N" in form.inputs and "D" in form.inputs:
        ratio = np.log(X[:, form.inputs.index("D")] / X[:, form.inputs.index("N")])
        if np.std(ratio) < 0.1:
            diags.append(Diagnostic("design_not_identifiable",
                                    f"every run has nearly the same tokens per parameter (D/N ~ {np.exp(np.mean(ratio)):.3g}); "
                                    "alpha and beta cannot be separated: vary D/N (e.g. 5, 20, 80 tokens per parameter)"))
    for j, name in enumerate(form.inputs):
        if name == "U":
            continue
        decades = np.log10(X[:, j].max() / X[:, j].min())
        if decades < 1.0:
            diags.append(Diagnostic("narrow_range", f"{name} spans only {decades:.2f} decades; power-law fits want 1-2 or more",
                                    param=name))
    if cov is not None:
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(sd, sd)
        for i, name in enumerate(form.param_names):
            if name in ("alpha", "beta") and np.isfinite(sd[i]) and public[i] > 0 and sd[i] > 0.5 * public[i]:
                diags.append(Diagnostic("weakly_identified_exponent",
                                        f"{name} = {public[i]:.3g} has an approximate standard error {sd[i]:.2g}, over half its value",
                                        param=name))
        p = len(form.param_names)
        for i in range(p):
            for j in range(i + 1, p):
                if np.isfinite(corr[i, j]) and abs(corr[i, j]) > 0.999:
                    diags.append(Diagnostic("strongly_correlated_parameters",
                                            f"{form.param_names[i]} and {form.param_names[j]} have correlation {corr[i, j]:.4f}: "
                                            "the data constrain only a combination of them", severity="info"))
    return diags


def objective_value(form: LawForm | str, params, X, y, *, objective="huber-log", delta=DEFAULT_DELTA, weights=None) -> float:
    """The objective at given public parameters (to compare fitters on equal terms)."""
    form = get_form(form) if isinstance(form, str) else form
    objective = check_objective(objective, delta)
    X, y, w = validate_data(form, X, y, weights)
    pred = form.predict(params, X)
    r = (np.log(pred) - np.log(y)) if is_log(objective) else pred - y
    per = rho(r, objective, delta)
    return float(np.sum(per if w is None else w * per))
