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

The verdict follows the closed-testing principle (Marcus, Peritz & Gabriel 1976): the arms
are called different only when the omnibus test (separate laws vs one common law) rejects at
alpha; then the slope test decides between "exponent" and "intercept". Identical arms are so
flagged at rate alpha, not about twice that as with two unguarded tests.

Form: a pure power law fitted to losses that saturate (L = E + A x^-alpha) measures the local
log-log slope, alpha A x^-alpha / L, not alpha: the arm with the larger exponent nears its floor
sooner and can show the smaller slope. `form="auto"` (the default) therefore tests the curvature
first (power nested in saturating, pooled F test over both arms) and compares with the
saturating law when the curve bends. Exponents are not the whole answer either ("slope vs
intercept"): the arms are also compared by predicted loss at a target scale, with intervals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, nnls
from scipy.special import fdtrc, stdtrit  # F survival and t quantile, without importing scipy.stats

from .fit import fit, validate_data
from .forms import LawForm, get_form
from .results import Diagnostic, Interval, LawInputError

__all__ = ["ArmsComparison", "FTest", "TargetComparison", "compare_arms", "SUPPORTED_FORMS"]

SUPPORTED_FORMS = ("auto", "power", "saturating", "chinchilla")


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
class TargetComparison:
    """Both arms' predicted loss at one scale, and their ratio b / a with an interval (delta method)."""

    scale: tuple[float, ...]
    loss_a: float
    loss_b: float
    interval_a: Interval
    interval_b: Interval
    ratio: float                            # loss_b / loss_a
    ratio_interval: Interval
    better: str                             # arm_a | arm_b | undecided (the ratio's interval holds 1)
    decades_beyond_data: float              # log10(target / largest scale run), 0 inside the data
    crossover_scale: float | None           # where the arms' curves cross (one-axis forms), if they do


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
    form_choice: str = "given"              # given | curvature (auto chose by the curvature test)
    curvature_test: FTest | None = None     # power nested in saturating, both arms pooled (one-axis data)
    global_test: FTest | None = None        # one common law vs separate laws (the omnibus test)
    at_target: TargetComparison | None = None
    faster_by_exponent: str = "undecided"   # arm_a | arm_b | undecided (the difference's interval holds 0)
    diagnostics: tuple[Diagnostic, ...] = ()


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
    if rss_full > 1e-300:
        stat = ((rss_restricted - rss_full) / df_num) / (rss_full / df_denom)
    else:  # exact fits (no noise, e.g. flat losses): no difference is F = 0; any difference is as large as a float goes
        stat = 0.0 if rss_restricted <= 1e-300 else float(np.finfo(float).max)
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


def _curvature(Xa, ya, Xb, yb) -> FTest:
    """Does the log-log curve bend? The power law nested in the saturating one, both arms pooled."""
    power, sat = get_form("power"), get_form("saturating")
    rss_p = rss_s = 0.0
    for X, y in ((Xa, ya), (Xb, yb)):
        rss_p += _log_rss(power, fit(power, X, y, objective="ls-log").values, X, y)
        rss_s += _log_rss(sat, fit(sat, X, y, objective="ls-log").values, X, y)
    return _f_test(rss_p, rss_s, 2, len(ya) + len(yb) - 2 * sat.n_params)


def _log_prediction_variance(form: LawForm, fr, X, X_t, s2) -> tuple[float, float]:
    """log L at X_t and its delta-method variance from the fit's Gauss-Newton covariance."""
    J = _log_jacobian(form, fr.values, X)
    g = _log_jacobian(form, fr.values, X_t)[0]
    cov = s2 * np.linalg.pinv(J.T @ J, rcond=1e-15)
    return float(np.log(form.predict(fr.values, X_t)[0])), float(g @ cov @ g)


def _crossover(form: LawForm, fit_a, fit_b, X_all) -> float | None:
    """The scale where the two one-axis curves cross, from the smallest run to 1e6 x the largest."""
    if X_all.shape[1] != 1:
        return None
    grid = np.geomspace(X_all.min(), X_all.max() * 1e6, 2000)[:, None]
    with np.errstate(all="ignore"):
        d = np.log(form.predict(fit_b.values, grid)) - np.log(form.predict(fit_a.values, grid))
    sign = np.sign(d)
    cross = np.nonzero(sign[:-1] * sign[1:] < 0)[0]
    if not cross.size:
        return None
    k = cross[0]  # linear interpolation of the log ratio in log scale
    lx = np.log(grid[k:k + 2, 0])
    return float(np.exp(lx[0] - d[k] * (lx[1] - lx[0]) / (d[k + 1] - d[k])))


def _at_target(form, fit_a, fit_b, Xa, Xb, target, s2, tq, level) -> TargetComparison:
    X_all = np.vstack([Xa, Xb])
    X_t = np.atleast_2d(np.asarray(target, float))
    if X_t.shape != (1, X_all.shape[1]) or not np.all(np.isfinite(X_t)) or np.any(X_t <= 0):
        raise LawInputError("target_scale", f"target_scale must be one positive value per input {list(form.inputs)}; "
                                            f"got {target!r}")
    la, va = _log_prediction_variance(form, fit_a, Xa, X_t, s2)
    lb, vb = _log_prediction_variance(form, fit_b, Xb, X_t, s2)
    ha, hb, hd = (float(tq * np.sqrt(max(v, 0.0))) for v in (va, vb, va + vb))
    d = lb - la
    better = "undecided" if abs(d) <= hd else ("arm_b" if d < 0 else "arm_a")
    beyond = float(max(0.0, np.max(np.log10(X_t[0] / X_all.max(axis=0)))))
    return TargetComparison(tuple(float(v) for v in X_t[0]), float(np.exp(la)), float(np.exp(lb)),
                            Interval(float(np.exp(la - ha)), float(np.exp(la + ha)), level),
                            Interval(float(np.exp(lb - hb)), float(np.exp(lb + hb)), level),
                            float(np.exp(d)), Interval(float(np.exp(d - hd)), float(np.exp(d + hd)), level),
                            better, beyond, _crossover(form, fit_a, fit_b, X_all))


def compare_arms(form: LawForm | str, Xa, ya, Xb, yb, *, alpha: float = 0.05, level: float = 0.95,
                 target_scale=None) -> ArmsComparison:
    """Compare two arms' scaling laws: separate vs shared exponents vs one common law, and at a target scale.

    form "auto" tests the log-log curvature and takes the saturating law when the curve bends,
    the power law otherwise. target_scale (one value per input; default the largest scale run)
    is where the arms' predicted losses are compared."""
    name = form if isinstance(form, str) else form.name
    if name == "auto":
        form = get_form("saturating")
    else:
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
    diagnostics, curvature, choice = [], None, "given"
    if form.inputs == ("x",):
        curvature = _curvature(Xa, ya, Xb, yb)
        curved = curvature.p_value < alpha
        if name == "auto":
            choice = "curvature"
            form = get_form("saturating" if curved else "power")
        elif form.name == "power" and curved:
            diagnostics.append(Diagnostic("loglog_curvature", (
                f"the log-log curves bend (saturating fits better than the power law, F = {curvature.statistic:.3g}, "
                f"p = {curvature.p_value:.2g}): a power-law exponent is then the local slope, not the law's exponent, "
                "and can put the arms in the wrong order; compare with form saturating (or auto)")))
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
    omnibus = _f_test(rss_common, rss_sep, p, df_sep)

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

    X_all = np.vstack([Xa, Xb])
    ref = tuple(float(np.exp(np.mean(np.log(X_all[:, c])))) for c in range(Xa.shape[1]))
    X_ref = np.array([ref])
    effect = float(form.predict(params_sb, X_ref)[0] / form.predict(params_sa, X_ref)[0] - 1.0)
    target = X_all.max(axis=0) if target_scale is None else np.atleast_1d(np.asarray(target_scale, float))
    at_target = _at_target(form, fit_a, fit_b, Xa, Xb, target, s2, tq, level)
    main = form.exponents[0]
    iv = intervals[main]
    faster = "undecided" if iv.contains(0.0) else ("arm_b" if diffs[main] > 0 else "arm_a")
    if faster != "undecided" and at_target.better != "undecided" and faster != at_target.better:
        where = f"; the curves cross near {at_target.crossover_scale:.3g}" if at_target.crossover_scale else ""
        diagnostics.append(Diagnostic("exponent_and_target_disagree", (
            f"{faster} has the larger exponent but {at_target.better} has the lower predicted loss at the target "
            f"scale {at_target.scale}{where}: say which matters (the exponent for far larger scales, the loss at "
            "the scale you will train)"), severity="info"))
    if omnibus.p_value >= alpha:
        verdict = "no_difference_detected"
    else:
        verdict = "exponent_differs" if slope.p_value < alpha else "intercept_only"
    return ArmsComparison(form.name, (len(ya), len(yb)),
                          {e: float(v) for e, v in zip(form.exponents, ea)},
                          {e: float(v) for e, v in zip(form.exponents, eb)},
                          diffs, intervals, {e: params_sa[e] for e in form.exponents},
                          slope, intercept, effect, ref, float(alpha), verdict, fit_a.params, fit_b.params,
                          form_choice=choice, curvature_test=curvature, global_test=omnibus, at_target=at_target,
                          faster_by_exponent=faster, diagnostics=tuple(diagnostics))
