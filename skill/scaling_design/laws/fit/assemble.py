"""What a fit reports beside its parameters: the asymptotic covariance and coded diagnostics."""
from __future__ import annotations

import numpy as np

from ..forms import LawForm
from ..results import Diagnostic
from .polish import Polisher
from .result import FitResult, OptimizerReport

__all__ = ["assemble"]


def assemble(form: LawForm, X, y, polisher: Polisher, z, value: float, ok: bool, report: OptimizerReport) -> FitResult:
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
    return (_optimizer_diagnostics(form, polisher, z, ok, report) + _design_diagnostics(form, X)
            + ([] if cov is None else _covariance_diagnostics(form, public, cov)))


def _optimizer_diagnostics(form, polisher, z, ok, report) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    if not ok:
        diags.append(Diagnostic("optimizer_nonconvergence",
                                f"the polish stopped with gradient norm {report.grad_norm:.3g} ({report.message}); treat the parameters with caution"))
    if report.n_polished > 1 and report.n_agree < 2:
        diags.append(Diagnostic("starts_disagree",
                                "only the best start reached the optimum; other starts stopped at different local optima",
                                severity="info"))
    for i, name in enumerate(form.internal_names):
        if z[i] <= polisher.lower[i] + 1e-6 or z[i] >= polisher.upper[i] - 1e-6:
            where = "lower" if z[i] <= polisher.lower[i] + 1e-6 else "upper"
            shown = form.param_names[i] if form.public_names is None else name
            diags.append(Diagnostic("parameter_at_bound", f"{shown} sits at its {where} bound; the data do not pin it down",
                                    param=shown))
    return diags


def _design_diagnostics(form, X) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
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
    return diags


def _covariance_diagnostics(form, public, cov) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
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
