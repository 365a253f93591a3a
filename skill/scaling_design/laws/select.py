"""Choosing a law form and objective by rolling extrapolation, not by in-sample fit.

The rule is fixed here so that no data set tunes it. For each of the two largest distinct
values of the main scale (N for joint forms, x for one-axis forms) a fold fits on the runs
strictly below that value and predicts every run at or above it. A candidate's score is
the mean over the two folds of the mean absolute relative error of its held-out runs.
Candidates are forms x objectives. A candidate takes part only if each fold leaves it at
least MIN_RUNS_PER_PARAM runs per parameter: a 9-parameter law fitted on 12 runs
interpolates noise and its held-out score is luck.

A fold is scored only if its training runs hold at least MIN_DISTINCT_SCALES distinct values
of the main scale. Every candidate has at least an offset, an amplitude and an exponent along
that scale; on two values they are not identified: the objective is flat along a ridge, and the
held-out prediction is wherever the optimiser stops on it (on the OLMo ladder's 190M/370M fold
the joint law reaches one objective to 12 digits at held-out errors of 0.8% and 2.4%). Such a
score is luck, so that fold is left out for every candidate (`dropped_cuts`) and the score is the
mean over the folds that remain. The same holds for any ridge a fold fit sits on: a candidate
whose training runs leave a direction of its parameters free that moves the held-out
predictions (a null direction of the training Jacobian with a component in the held-out
Jacobian) is not scored.

Candidates tie with the best when their score is within the noise of the score itself:
the larger of TIE_RELATIVE of the best score and the run-to-run scale (the best fit's
residual scale) divided by the square root of the number of held-out runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fit import FitResult, fit
from .forms import LawForm
from .results import LawInputError

__all__ = ["Candidate", "Selection", "select_form", "DEFAULT_OBJECTIVES", "N_FOLDS", "MIN_DISTINCT_SCALES",
           "fold_cuts", "held_out_identified"]

DEFAULT_OBJECTIVES = ("huber-log", "ls-log", "ls")
N_FOLDS = 2
MIN_RUNS_PER_PARAM = 2
MIN_DISTINCT_SCALES = 3  # distinct main-scale values a fold's training runs need for its score to count
NULL_TOL = 1e-10         # singular values below this share of the largest (columns equilibrated): a free direction
LEAK_TOL = 1e-3          # a free direction moving the held-out predictions by this share of their Jacobian: a ridge
TIE_RELATIVE = 0.10
FOLD_STARTS = 2  # grid starts polished per fold fit (plus the seed form's start); the full-data fits keep the default
FULL_STARTS = 1  # grid starts of a full-data fit, beside its largest fold's optimum and the seed
WARM_STARTS = 0  # grid starts beside the optimum another objective reached on the same fold (and the seed)


@dataclass
class Candidate:
    form: LawForm
    objective: str
    heldout_errors: list[float] = field(default_factory=list)   # per fold, mean |relative error|
    fold_sizes: list[int] = field(default_factory=list)
    fold_log_errors: list[np.ndarray] = field(default_factory=list)
    fold_values: list[np.ndarray] = field(default_factory=list)  # each fold fit's parameters
    skipped: str | None = None
    fit: FitResult | None = None   # on all the data, for the competitive candidates

    @property
    def heldout_error(self) -> float:
        return float(np.mean(self.heldout_errors)) if self.heldout_errors and not self.skipped else float("inf")

    @property
    def name(self) -> str:
        return f"{self.form.name}/{self.objective}"


@dataclass
class Selection:
    candidates: list[Candidate]
    best: Candidate
    competitive: list[Candidate]
    fold_cuts: list[float]
    main_scale: str
    tie: bool
    dropped_cuts: list[float] = field(default_factory=list)  # folds whose training runs identify no candidate
    inputs: tuple[str, ...] = ()   # the columns of the data; each form takes its own

    def design(self, form: LawForm, X) -> np.ndarray:
        """The columns of X (in `inputs` order) that `form` takes."""
        X = np.asarray(X, float)
        return X[:, [self.inputs.index(name) for name in form.inputs]]

    @property
    def heldout_log_rmse(self) -> float:
        """Root mean square log error of the best candidate on its held-out runs: the empirical
        size of one step of extrapolation, used as the model-error term of intervals."""
        errs = np.concatenate(self.best.fold_log_errors) if self.best.fold_log_errors else np.array([np.nan])
        return float(np.sqrt(np.mean(errs ** 2)))


def fold_cuts(scale: np.ndarray) -> tuple[list[float], list[float]]:
    """(cuts scored, cuts dropped): the N_FOLDS largest distinct values of the main scale, kept when
    the runs below a cut hold at least MIN_DISTINCT_SCALES distinct values."""
    distinct = np.unique(scale)
    if distinct.size < MIN_DISTINCT_SCALES + 1:
        raise LawInputError("form", f"form 'auto' holds out the largest scales in turn; it needs at least "
                                    f"{MIN_DISTINCT_SCALES + 1} distinct values of the main scale ("
                                    f"{MIN_DISTINCT_SCALES} to fit below a held-out one); got {distinct.size}")
    cuts = [float(v) for v in distinct[-N_FOLDS:]]
    kept = [c for c in cuts if np.sum(distinct < c) >= MIN_DISTINCT_SCALES]
    return kept, [c for c in cuts if c not in kept]


def _score(cand: Candidate, X, y, w, scale, cuts, delta, fold_fits: dict) -> None:
    """Fit each fold and score its held-out runs. fold_fits[(form, objective, cut)] holds each fold
    fit so far: the first objective's optimum on the same fold is a start beside the global
    search's best (WARM_STARTS), and the seed form's is the seed start."""
    p = cand.form.n_params
    for cut in cuts:
        train, test = scale < cut, scale >= cut
        if train.sum() < MIN_RUNS_PER_PARAM * p:
            cand.skipped = f"a fold leaves {int(train.sum())} runs for {p} parameters (needs {MIN_RUNS_PER_PARAM} per parameter)"
            return
        warm = [v for (form, _, c), v in fold_fits.items() if form == cand.form.name and c == cut][:1]
        seeded = _seed_from_fold(cand, cut, fold_fits)
        try:
            res = fit(cand.form, X[train], y[train], objective=cand.objective, delta=delta,
                      top_starts=WARM_STARTS if warm else FOLD_STARTS, starts=warm + seeded,
                      weights=None if w is None else w[train], seed=not seeded)
        except (LawInputError, ValueError) as exc:
            cand.skipped = f"the fold fit failed: {exc}"
            return
        cand.fold_values.append(res.values)
        fold_fits[(cand.form.name, cand.objective, cut)] = res.values
        with np.errstate(all="ignore"):
            pred = res.predict(X[test])
        if not np.all(np.isfinite(pred)) or np.any(pred <= 0):
            cand.skipped = "a fold fit predicts non-positive or non-finite losses for the held-out runs"
            return
        if not held_out_identified(cand.form, res.values, X[train], X[test]):
            cand.skipped = (f"the runs below {cut:.4g} leave a direction of its parameters free that moves the held-out "
                            "predictions (a ridge): its score would be luck")
            return
        cand.heldout_errors.append(float(np.mean(np.abs(pred / y[test] - 1))))
        cand.fold_sizes.append(int(test.sum()))
        cand.fold_log_errors.append(np.log(pred / y[test]))


def _seed_from_fold(cand: Candidate, cut: float, fold_fits: dict) -> list[np.ndarray]:
    """The seed form's fit on this fold and objective (when it is a candidate too), mapped to a start
    of this form: the start fit() would otherwise compute again."""
    if cand.form.seed_from is None:
        return []
    name, mapping = cand.form.seed_from
    values = fold_fits.get((name, cand.objective, cut))
    if values is None:
        return []
    start = np.asarray(mapping(np.asarray(values, float)), float)
    return [start] if np.all(np.isfinite(start)) else []


def _full_fit(cand: Candidate, X, y, weights, delta) -> FitResult:
    """The candidate on all the data, started also from its largest fold's optimum (the same runs
    but the held-out ones), beside the global search."""
    return fit(cand.form, X, y, objective=cand.objective, delta=delta, weights=weights, starts=cand.fold_values[-1:],
               top_starts=FULL_STARTS)


def held_out_identified(form: LawForm, values, X_train, X_test) -> bool:
    """Do the training runs determine the predictions at the held-out runs? No when a null direction
    of the (column-equilibrated, log-scale) training Jacobian has a component in the held-out one."""
    with np.errstate(all="ignore"):
        Jt = form.jacobian(values, X_train) / form.predict(values, X_train)[:, None]
        Jh = form.jacobian(values, X_test) / form.predict(values, X_test)[:, None]
    if not (np.all(np.isfinite(Jt)) and np.all(np.isfinite(Jh))):
        return False
    scale = np.linalg.norm(Jt, axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    _, sv, vt = np.linalg.svd(Jt / scale, full_matrices=Jt.shape[0] < Jt.shape[1])  # vt spans every direction
    rank = int(np.sum(sv > NULL_TOL * sv[0])) if sv.size and sv[0] > 0 else 0
    free = vt[rank:]
    if not free.size:
        return True
    Jh = Jh / scale
    return float(np.linalg.norm(Jh @ free.T)) <= LEAK_TOL * max(float(np.linalg.norm(Jh)), 1e-300)


def select_form(forms: list[LawForm], X, y, *, weights=None, objectives=DEFAULT_OBJECTIVES,
                delta: float = 1e-3, inputs: tuple[str, ...] | None = None) -> Selection:
    """Score every form x objective by rolling extrapolation; fit the competitive ones on all data.

    X holds the columns `inputs` (default: those of the form with the most inputs); each form is
    fitted on the columns it takes, so a joint law and the data-constrained law (N, D, U) compete
    on the same runs."""
    if not forms:
        raise LawInputError("form", "no candidate form takes these data's inputs")
    inputs = tuple(inputs) if inputs else max((f.inputs for f in forms), key=len)
    missing = [f.name for f in forms if set(f.inputs) - set(inputs)]
    if missing:
        raise LawInputError("candidates", f"candidates {missing} need inputs the data do not have ({list(inputs)})")
    X, y = np.asarray(X, float), np.asarray(y, float)
    main = forms[0].main_scale
    scale = X[:, inputs.index(main)]
    columns = {f.name: [inputs.index(name) for name in f.inputs] for f in forms}
    cuts, dropped = fold_cuts(scale)
    cands = [Candidate(f, o) for f in forms for o in objectives]
    fold_fits: dict = {}
    for cand in cands:
        _score(cand, X[:, columns[cand.form.name]], y, weights, scale, cuts, delta, fold_fits)
    scored = sorted((c for c in cands if not c.skipped), key=lambda c: c.heldout_error)
    if not scored:
        reasons = "; ".join(f"{c.name}: {c.skipped}" for c in cands)
        raise LawInputError("form", f"no candidate could be scored by rolling extrapolation ({reasons})")
    best = scored[0]
    best.fit = _full_fit(best, X[:, columns[best.form.name]], y, weights, delta)
    n_heldout = sum(best.fold_sizes)
    margin = max(TIE_RELATIVE * best.heldout_error, best.fit.sigma_log / np.sqrt(max(n_heldout, 1)))
    competitive = [c for c in scored if c.heldout_error <= best.heldout_error + margin]
    for c in competitive[1:]:
        c.fit = _full_fit(c, X[:, columns[c.form.name]], y, weights, delta)
    return Selection(cands, best, competitive, cuts, main, tie=len(competitive) > 1, dropped_cuts=dropped,
                     inputs=inputs)
