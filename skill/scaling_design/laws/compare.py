"""Two arms on one scaling axis (e.g. two architectures): does the exponent differ, or
only the intercept?

Three nested least-squares fits on log loss:
    separate   each arm its own law (all parameters free per arm)
    shared     each arm its own amplitudes, one set of exponents for both
    common     one law for both arms
An F test of separate vs shared asks "slope": do the exponents differ? An F test of
shared vs common asks "intercept": given a shared exponent, do the amplitudes differ?
For the pure power law the fits are linear in log space and this is exactly ANCOVA with
an interaction term (log L ~ arm * log x); for the saturating and joint laws the same
F statistics are the usual large-sample test for nested nonlinear least squares.

Least squares on log loss, not Huber: the F test's reference distribution assumes it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.special import fdtrc, stdtrit  # F survival and t quantile, without importing scipy.stats

from .fit import fit, validate_data
from .forms import LawForm, get_form
from .results import Interval, LawInputError

__all__ = ["ArmsComparison", "FTest", "compare_arms", "SUPPORTED_FORMS"]

SUPPORTED_FORMS = ("power", "saturating", "chinchilla")


@dataclass(frozen=True)
class FTest:
    """An F test of a restricted model against a larger one."""

    statistic: float
    df_num: int
    df_denom: int
    p_value: float
    rss_restricted: float
    rss_full: float


@dataclass(frozen=True)
class ArmsComparison:
    form: str
    n_runs: tuple[int, int]
    exponents_a: dict[str, float]
    exponents_b: dict[str, float]
    differences: dict[str, float]           # arm b minus arm a, separate fits
    difference_intervals: dict[str, Interval]
    shared_exponents: dict[str, float]
    slope_test: FTest                       # separate vs shared exponents
    intercept_test: FTest                   # shared exponents vs one common law
    intercept_effect: float                 # relative loss b / a - 1 at the reference scale, shared-exponent fit
    reference_scale: tuple[float, ...]
    alpha: float
    verdict: str                            # exponent_differs | intercept_only | no_difference_detected
    params_a: dict[str, float]
    params_b: dict[str, float]


def _log_rss(form: LawForm, values, X, y) -> float:
    return float(np.sum((np.log(form.predict(values, X)) - np.log(y)) ** 2))


def _log_jacobian(form: LawForm, values, X) -> np.ndarray:
    return form.jacobian(values, X) / form.predict(values, X)[:, None]


class _SharedModel:
    """Per-arm amplitudes and shared exponents, fitted in log space.

    Coordinates z = [log amplitudes of arm a, log amplitudes of arm b, exponents]."""

    def __init__(self, form: LawForm, Xa, ya, Xb, yb):
        self.form, self.Xa, self.ya, self.Xb, self.yb = form, Xa, ya, Xb, yb
        self.k = len(form.amplitudes)
        floor = np.log(1e-10 * max(ya.max(), yb.max()))
        exp_bounds = [form.bounds[n] for n in form.exponents]
        self.lower = np.array([floor] * 2 * self.k + [b[0] for b in exp_bounds])
        self.upper = np.array([np.inf] * 2 * self.k + [b[1] for b in exp_bounds])

    def _split(self, z):
        k = self.k
        return np.exp(z[:k]), np.exp(z[k:2 * k]), z[2 * k:]

    def residuals(self, z):
        amp_a, amp_b, theta = self._split(z)
        pa = self.form.basis(theta, self.Xa)[0] @ amp_a
        pb = self.form.basis(theta, self.Xb)[0] @ amp_b
        return np.concatenate([np.log(pa) - np.log(self.ya), np.log(pb) - np.log(self.yb)])

    def jac(self, z):
        amp_a, amp_b, theta = self._split(z)
        k, m = self.k, len(theta)
        blocks = []
        for amps, X, col in ((amp_a, self.Xa, 0), (amp_b, self.Xb, k)):
            phi, dphi = self.form.basis(theta, X)
            pred = phi @ amps
            J = np.zeros((X.shape[0], 2 * k + m))
            J[:, col:col + k] = phi * amps[None, :] / pred[:, None]
            J[:, 2 * k:] = np.einsum("nkm,k->nm", dphi, amps) / pred[:, None]
            blocks.append(J)
        return np.vstack(blocks)

    def start(self, theta) -> np.ndarray | None:
        """Exact non-negative amplitudes per arm for fixed exponents (relative-error weights)."""
        z = []
        for X, y in ((self.Xa, self.ya), (self.Xb, self.yb)):
            phi = self.form.basis(np.asarray(theta, float), X)[0] / y[:, None]
            amps, _ = nnls(phi, np.ones_like(y))
            if not np.any(amps > 0):
                return None
            z.append(np.log(np.maximum(amps, 1e-10 * y.max())))
        return np.concatenate(z + [np.asarray(theta, float)])

    def fit(self, thetas) -> tuple[np.ndarray, float]:
        best_z, best_rss = None, np.inf
        with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
            for theta in thetas:
                z0 = self.start(theta)
                if z0 is None:
                    continue
                z0 = np.clip(z0, self.lower + 1e-12, self.upper - 1e-12)
                sol = least_squares(self.residuals, z0, jac=self.jac, bounds=(self.lower, self.upper),
                                    method="trf", x_scale="jac", xtol=1e-14, ftol=1e-14, gtol=1e-14, max_nfev=2000)
                rss = float(np.sum(sol.fun**2))
                if rss < best_rss:
                    best_z, best_rss = sol.x, rss
        if best_z is None:
            raise LawInputError("data", "the shared-exponent fit found no finite start; check the losses' units")
        return best_z, best_rss

    def public_params(self, z) -> tuple[dict[str, float], dict[str, float]]:
        amp_a, amp_b, theta = self._split(z)
        names = self.form.amplitudes + self.form.exponents
        return (dict(zip(names, map(float, np.concatenate([amp_a, theta])))),
                dict(zip(names, map(float, np.concatenate([amp_b, theta])))))


def _f_test(rss_restricted, rss_full, df_num, df_denom) -> FTest:
    rss_restricted = max(rss_restricted, rss_full)  # nested: the restricted fit cannot beat the full one
    stat = ((rss_restricted - rss_full) / df_num) / (rss_full / df_denom) if rss_full > 0 else np.inf
    return FTest(float(stat), int(df_num), int(df_denom), float(fdtrc(df_num, df_denom, stat)),
                 float(rss_restricted), float(rss_full))


def _check_arms(form: LawForm, Xa, ya, Xb, yb):
    out = []
    for name, X, y in (("arm_a", Xa, ya), ("arm_b", Xb, yb)):
        try:
            X, y, _ = validate_data(form, X, y)
        except LawInputError as exc:
            raise LawInputError(name, f"{name}: {exc}") from None
        if X.shape[0] <= form.n_params:
            raise LawInputError(name, f"{name} needs more runs than the {form.n_params} parameters of form "
                                      f"{form.name!r} to test a difference; got {X.shape[0]}")
        out.extend([X, y])
    return out


def compare_arms(form: LawForm | str, Xa, ya, Xb, yb, *, alpha: float = 0.05, level: float = 0.95) -> ArmsComparison:
    """Compare two arms' scaling laws: separate vs shared exponents vs one common law."""
    form = get_form(form) if isinstance(form, str) else form
    if form.name == "kaplan":
        form = get_form("power")
    if form.name not in SUPPORTED_FORMS:
        raise LawInputError("form", f"form must be one of {list(SUPPORTED_FORMS)} for an arms comparison; got {form.name!r}")
    if not 0 < alpha < 1:
        raise LawInputError("alpha", f"alpha must be in (0, 1); got {alpha!r}")
    if not 0 < level < 1:
        raise LawInputError("level", f"level must be in (0, 1); got {level!r}")
    Xa, ya, Xb, yb = _check_arms(form, Xa, ya, Xb, yb)
    n, p, m = len(ya) + len(yb), form.n_params, len(form.exponents)

    fit_a = fit(form, Xa, ya, objective="ls-log")
    fit_b = fit(form, Xb, yb, objective="ls-log")
    rss_sep = _log_rss(form, fit_a.values, Xa, ya) + _log_rss(form, fit_b.values, Xb, yb)
    pooled = fit(form, np.vstack([Xa, Xb]), np.concatenate([ya, yb]), objective="ls-log")
    rss_common = _log_rss(form, pooled.values, np.vstack([Xa, Xb]), np.concatenate([ya, yb]))

    shared = _SharedModel(form, Xa, ya, Xb, yb)
    ea = np.array([fit_a.params[e] for e in form.exponents])
    eb = np.array([fit_b.params[e] for e in form.exponents])
    ep = np.array([pooled.params[e] for e in form.exponents])
    z, rss_shared = shared.fit([ea, eb, 0.5 * (ea + eb), ep])
    params_sa, params_sb = shared.public_params(z)

    df_sep = n - 2 * p
    if df_sep < 1:
        raise LawInputError("runs", f"comparing two arms of form {form.name!r} needs more than {2 * p} runs in all; got {n}")
    slope = _f_test(rss_shared, rss_sep, m, df_sep)
    intercept = _f_test(rss_common, rss_shared, len(form.amplitudes), n - (2 * len(form.amplitudes) + m))

    s2 = rss_sep / df_sep  # pooled residual variance, as ANCOVA with an interaction uses
    tq = stdtrit(df_sep, 0.5 + level / 2)
    diffs, intervals = {}, {}
    for j, name in enumerate(form.exponents):
        var = 0.0
        for fr, X in ((fit_a, Xa), (fit_b, Xb)):
            J = _log_jacobian(form, fr.values, X)
            i = form.param_names.index(name)
            var += s2 * np.linalg.pinv(J.T @ J, rcond=1e-15)[i, i]
        d = float(eb[j] - ea[j])
        half = float(tq * np.sqrt(var))
        diffs[name], intervals[name] = d, Interval(d - half, d + half, level)

    ref = tuple(float(np.exp(np.mean(np.log(np.vstack([Xa, Xb])[:, c])))) for c in range(Xa.shape[1]))
    X_ref = np.array([ref])
    effect = float(form.predict(params_sb, X_ref)[0] / form.predict(params_sa, X_ref)[0] - 1.0)
    verdict = ("exponent_differs" if slope.p_value < alpha else
               "intercept_only" if intercept.p_value < alpha else "no_difference_detected")
    return ArmsComparison(form.name, (len(ya), len(yb)),
                          {e: float(v) for e, v in zip(form.exponents, ea)},
                          {e: float(v) for e, v in zip(form.exponents, eb)},
                          diffs, intervals, {e: params_sa[e] for e in form.exponents},
                          slope, intercept, effect, ref, float(alpha), verdict, fit_a.params, fit_b.params)
