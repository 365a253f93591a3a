"""downstream_prediction: task loss from (N, D), then the metric as a sigmoid of task loss."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from ...laws import allocation
from ...laws.downstream import Sigmoid, TwoStepBootstrap, fit_sigmoid, sigmoid, two_step_bootstrap
from ...laws.fit import FitResult, fit
from ...laws.forms import get_form
from ..run_rows import numeric_column, roles, source_rows
from ..runs_io import ALIASES, RunTable, from_rows
from .models import MAX_LADDER_RUNS, Band, Diagnostic, Input, Output, Prediction, StepOne, StepTwo, Validation

SIGMOID_NAMES = ("low", "high", "k", "L0")
CONTRARY_RANK_CORRELATION = 0.5   # a metric this correlated with the task loss the wrong way is refused


@dataclass(frozen=True)
class Ladder:
    table: RunTable
    metric: np.ndarray            # per fitted run (NaN where the run has no metric)
    validation_metric: np.ndarray | None


def _column(rows, name: str, field: str, quote: bool) -> np.ndarray:
    values = numeric_column(rows, (name.strip().lower(),), field, quote)
    if values is None:
        found = list(rows[0]) if (rows and quote) else "other columns"
        raise InputError(field, f"{field} {name!r} is not a column of the runs; found {found}: give the runs "
                                f"a {name!r} column or set {field} to the column that holds it")
    return values


def _read(inp: Input) -> Ladder:
    raw = [r.model_dump(exclude_none=True) for r in inp.runs] if inp.runs is not None else None
    rows, source, quote = source_rows(raw, inp.csv_text, inp.csv_path)
    if not rows:
        raise InputError(source, f"{source} is empty; give the ladder's runs with N, D (or C), task loss and metric")
    if len(rows) > MAX_LADDER_RUNS:
        raise InputError(source, f"{source} must hold at most {MAX_LADDER_RUNS:,} runs (the cap); got {len(rows):,}")
    task = _column(rows, inp.loss_column, "loss_column", quote)
    metric = _column(rows, inp.metric_column, "metric_column", quote)
    loss_names = set(ALIASES["loss"])
    rows = [{**{k: v for k, v in r.items() if str(k).strip().lower() not in loss_names},
             "loss": "" if np.isnan(t) else float(t)} for r, t in zip(rows, task)]
    table = from_rows(rows, get_form("chinchilla"), source, quote=quote)
    val_rows = np.flatnonzero((roles(rows) == "validation") & np.isfinite(task))
    ladder = Ladder(table, metric[table.rows], metric[val_rows] if len(val_rows) else None)
    _check_metric(ladder, inp)
    return ladder


def _check_metric(ladder: Ladder, inp: Input) -> None:
    values = np.concatenate([ladder.metric, ladder.validation_metric if ladder.validation_metric is not None else []])
    values = values[np.isfinite(values)]
    if values.size and (values.min() < 0 or values.max() > 1):
        hint = "; percentages: divide by 100" if values.max() <= 100 else ""
        raise InputError(inp.metric_column, f"{inp.metric_column} must be a fraction in [0, 1] (an accuracy, a rate); "
                                            f"got values in [{values.min():.4g}, {values.max():.4g}]{hint}")


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)


def _check_direction(L: np.ndarray, acc: np.ndarray, direction: str) -> None:
    """Refuse a metric that moves with the task loss the wrong way for its stated direction."""
    if len(L) < 4 or np.ptp(acc) == 0 or np.ptp(L) == 0:
        return
    rho = float(np.corrcoef(_ranks(L), _ranks(acc))[0, 1])
    contrary = rho > CONTRARY_RANK_CORRELATION if direction == "higher_is_better" else rho < -CONTRARY_RANK_CORRELATION
    if contrary:
        other = "lower_is_better" if direction == "higher_is_better" else "higher_is_better"
        raise InputError("direction", f"direction {direction!r} expects the metric to {'fall' if direction == 'higher_is_better' else 'rise'} "
                                      f"as the task loss rises, but their rank correlation is {rho:+.2f}: pass direction={other!r} "
                                      "(metric_specification's direction for this metric), or check the columns")


def _band(values: np.ndarray, level: float) -> Band | None:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return None
    tail = (1 - level) / 2
    lo, hi = np.quantile(values, [tail, 1 - tail])
    return Band(low=float(lo), high=float(hi), level=level)


def _targets(inp: Input, X: np.ndarray) -> np.ndarray:
    if inp.predict_at:
        return np.array([[t.N, t.D] for t in inp.predict_at])
    top = X[np.argmax(X[:, 0] * X[:, 1])]
    return (10.0 * top)[None, :]


def _decades(point: np.ndarray, X: np.ndarray) -> float:
    lo, hi = X.min(axis=0), X.max(axis=0)
    return float(max(0.0, *np.log10(point / hi), *np.log10(lo / point)))


def _metric_draws(boot: TwoStepBootstrap, increasing: bool, N: float, D: float) -> tuple[np.ndarray, np.ndarray]:
    L = allocation.joint_loss(boot.joint, N, D)
    return L, sigmoid(boot.sigmoid, L[:, None], increasing)[:, 0]


def _predictions(targets, X, res: FitResult, sig: Sigmoid, boot, L_fit: np.ndarray, inp: Input, rng) -> list[Prediction]:
    out = []
    for N, D in targets:
        L = float(allocation.joint_loss(res.params, N, D))
        bands = {}
        if boot is not None:
            Lb, Ab = _metric_draws(boot, sig.increasing, N, D)
            noisy = np.clip(Ab + rng.normal(0.0, sig.residual_sd, size=Ab.shape), 0.0, 1.0)
            bands = {"task_loss_interval": _band(Lb, inp.level), "interval": _band(Ab, inp.level),
                     "prediction_interval": _band(noisy, inp.level)}
        out.append(Prediction(at={"N": float(N), "D": float(D)}, task_loss=L, metric=float(sig(L)),
                              decades_beyond_data=_decades(np.array([N, D]), X),
                              task_loss_beyond_fit=bool(L < L_fit.min() or L > L_fit.max()), **bands))
    return out


def _validation(ladder: Ladder, res: FitResult, sig: Sigmoid, boot, level: float) -> list[Validation]:
    t = ladder.table
    if t.validation_X is None:
        return []
    out = []
    for (N, D), L_obs, m in zip(t.validation_X, t.validation_y, ladder.validation_metric):
        L = float(allocation.joint_loss(res.params, N, D))
        pred = float(sig(L))
        inside = None
        if boot is not None and np.isfinite(m):
            band = _band(_metric_draws(boot, sig.increasing, N, D)[1], level)
            inside = bool(band is not None and band.low <= m <= band.high)
        out.append(Validation(at={"N": float(N), "D": float(D)}, task_loss=float(L_obs), predicted_task_loss=L,
                              metric=float(m) if np.isfinite(m) else None, predicted_metric=pred,
                              error_points=float(100 * (pred - m)) if np.isfinite(m) else None, inside_interval=inside))
    return out


def _steps(ladder: Ladder, inp: Input, warnings: list[Diagnostic]) -> tuple[FitResult, Sigmoid, np.ndarray]:
    X, y = ladder.table.X, ladder.table.y
    res = fit("chinchilla", X, y, objective="ls-log")
    warnings.extend(Diagnostic(code=d.code, severity=d.severity, message=f"step 1: {d.message}") for d in res.diagnostics)
    has = np.isfinite(ladder.metric)
    increasing = inp.direction == "lower_is_better"
    _check_direction(y[has], ladder.metric[has], inp.direction)
    sig = fit_sigmoid(y[has], ladder.metric[has], increasing=increasing, floor=inp.floor)
    return res, sig, has


def _step_warnings(sig: Sigmoid, metric: np.ndarray, inp: Input) -> list[Diagnostic]:
    low, high, k, _ = sig.theta
    out = []
    if high > 0.999 or (inp.floor is None and low < 1e-3):
        which = "ceiling (high -> 1)" if high > 0.999 else "chance level (low -> 0)"
        out.append(Diagnostic(code="sigmoid_at_bound", severity="warning", message=(
            f"the sigmoid's {which} is at its bound: these runs do not identify it, and predictions beyond the "
            "fitted task losses lean on it; give floor (the chance accuracy) or rungs nearer the target")))
    if np.ptp(metric) < 3 * max(sig.residual_sd, 1e-12):
        out.append(Diagnostic(code="metric_not_moving", severity="warning", message=(
            f"the metric spans {np.ptp(metric):.3g} over the ladder, within 3 residual SDs ({sig.residual_sd:.2g}): step 2 "
            "is not identified; use larger rungs or a continuous proxy (Schaeffer et al. 2023)")))
    return out


def _prediction_warnings(predictions: list[Prediction], L_fit: np.ndarray) -> list[Diagnostic]:
    out = []
    for p in predictions:
        if p.task_loss_beyond_fit:
            gap = min(abs(p.task_loss - L_fit.min()), abs(p.task_loss - L_fit.max()))
            out.append(Diagnostic(code="metric_extrapolated", severity="info", message=(
                f"at N={p.at['N']:.3g}, D={p.at['D']:.3g} the predicted task loss {p.task_loss:.4g} lies {gap:.3g} nats beyond "
                "the losses step 2 was fitted on: the sigmoid is extrapolated")))
        if p.decades_beyond_data > 1.5:
            out.append(Diagnostic(code="extrapolation_far", severity="warning", message=(
                f"N={p.at['N']:.3g}, D={p.at['D']:.3g} lies {p.decades_beyond_data:.2g} decades beyond the ladder")))
    return out


def run(inp: Input) -> Output:
    ladder = _read(inp)
    X, y = ladder.table.X, ladder.table.y
    warnings: list[Diagnostic] = []
    res, sig, has = _steps(ladder, inp, warnings)
    warnings += _step_warnings(sig, ladder.metric[has], inp)
    boot = None
    if inp.bootstrap:
        boot = two_step_bootstrap(X, y, ladder.metric, res.params, sig, n_boot=inp.bootstrap, seed=inp.seed)
        if boot.n_failed > max(1, 0.01 * boot.n_boot):
            warnings.append(Diagnostic(code="bootstrap_nonconvergence", severity="warning", message=(
                f"{boot.n_failed} of {boot.n_boot} bootstrap replicates did not converge in one of the steps and were "
                "excluded; intervals may be too narrow")))
    L_fit = y[has]
    rng = np.random.default_rng(inp.seed + 1)
    predictions = _predictions(_targets(inp, X), X, res, sig, boot, L_fit, inp, rng)
    warnings += _prediction_warnings(predictions, L_fit)
    names = list(allocation.JOINT_ORDER)
    step1 = StepOne(equation="L(N, D) = E + A/N^alpha + B/D^beta", params=res.params, sigma_log=res.sigma_log,
                    converged=res.converged, n_runs=len(y),
                    intervals={n: _band(boot.joint[:, i], inp.level) for i, n in enumerate(names)} if boot else None)
    sign = "-" if sig.increasing else ""
    step2 = StepTwo(equation=f"metric = low + (high - low) / (1 + exp({sign}k (L - L0)))",
                    params=dict(zip(SIGMOID_NAMES, map(float, sig.theta))), residual_sd=sig.residual_sd,
                    task_loss_range=[float(L_fit.min()), float(L_fit.max())], converged=sig.converged, n_runs=int(has.sum()),
                    intervals={n: _band(boot.sigmoid[:, i], inp.level) for i, n in enumerate(SIGMOID_NAMES)} if boot else None)
    return Output(direction=inp.direction, step1=step1, step2=step2, predictions=predictions,
                  validation=_validation(ladder, res, sig, boot, inp.level), n_runs=len(y), n_skipped=ladder.table.n_skipped,
                  runs_used=[{"N": float(n), "D": float(d), "loss": float(l), "metric": float(m) if np.isfinite(m) else None}
                             for (n, d), l, m in zip(X, y, ladder.metric)],
                  bootstrap=_boot_summary(boot, inp), warnings=warnings, notes=ladder.table.notes + _notes(inp, has, y))


def _boot_summary(boot: TwoStepBootstrap | None, inp: Input) -> dict:
    if boot is None:
        return {"n_boot": 0, "seed": inp.seed}
    return {"n_boot": boot.n_boot, "n_used": int(len(boot.joint)), "n_failed": boot.n_failed,
            "clustered_by_scale": boot.clustered, "seed": boot.seed}


def _notes(inp: Input, has: np.ndarray, y: np.ndarray) -> list[str]:
    notes = ["two steps as Bhagia et al. 2024 (OLMo ladder): step 1 fits the joint law to the task loss (least squares on "
             "log loss, the fitter of fit_scaling_law); step 2 fits the sigmoid of the metric in the observed task loss "
             "(least squares on the metric)",
             "intervals: one bootstrap over runs (scales, then seeds within a scale) refits both steps on the same resample, "
             "so the metric's interval carries both steps' uncertainty"]
    if (~has).any():
        notes.append(f"{int((~has).sum())} runs without a metric inform step 1 only")
    if inp.floor is not None:
        notes.append(f"chance level fixed at floor = {inp.floor:g}")
    return notes
