"""What a fit returns: one immutable result with its optimizer report."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.special import ndtri  # the normal quantile; scipy.stats costs 0.5 s to import

from ..forms import LawForm, as_design
from ..results import Diagnostic, Interval

__all__ = ["FitResult", "OptimizerReport"]


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

