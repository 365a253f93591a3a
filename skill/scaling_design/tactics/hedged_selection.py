"""budget_constrained_design's hedge: choose runs for several law families at once.

When the target is the loss at a point and the prior law is the joint law, the design
averages its criterion over the joint law and two neighbours that bend differently (the
joint law with a data exponent drifting up or down with N, joint_nbeta at gamma = +-0.1,
equal to the prior at N = 1e9), and spends a share of the budget on space-filling runs
first (laws.robust_design). A locally optimal design for the joint law alone concentrates
on a few cheap corners and, when the law is wrong, extrapolates from them.
"""
from __future__ import annotations

import numpy as np

from ..laws.forms import get_form
from ..laws.optimal_design import SelectionResult, information_matrix, response_rows, target_gradient, target_variance
from ..laws.robust_design import EXPLORE_SHARE, robust_select

__all__ = ["hedged_select", "HEDGE_GAMMAS", "EXPLORE_SHARE"]

HEDGE_GAMMAS = (0.1, -0.1)


def _families(params: dict) -> list[tuple[str, np.ndarray]]:
    joint = get_form("chinchilla").as_array(params)
    _, from_joint = get_form("joint_nbeta").seed_from  # the joint law as a joint_nbeta point (gamma = 0)
    out = [("chinchilla", joint)]
    for gamma in HEDGE_GAMMAS:
        values = from_joint(joint)
        values[-1] = gamma
        out.append(("joint_nbeta", values))
    return out


def hedged_select(params: dict, X: np.ndarray, Xt: np.ndarray, costs: np.ndarray, budget: float, sd_of_loss,
                  done_X: np.ndarray, max_repeats: int, extra: list[tuple[str, np.ndarray]] = ()) -> SelectionResult:
    """extra: further (form name, parameters) families to design for, e.g. the family the completed
    runs select in sequential mode."""
    models, done = [], []
    for name, values in _families(params) + list(extra):
        form = get_form(name)
        rows = response_rows(form, values, X, sd_of_loss)
        G = target_gradient(form, values, lambda v, f=form: np.log(f.predict(v, Xt)))
        models.append((rows, G))
        done.append(information_matrix(response_rows(form, values, done_X, sd_of_loss)) if len(done_X)
                    else np.zeros((rows.shape[1],) * 2))
    features = np.column_stack([np.log(X[:, 0]), np.log(X[:, 1] / X[:, 0])])
    sel = robust_select(models, costs, budget, features, prior_information=done, max_repeats=max_repeats)
    rows0, G0 = models[0]
    var, full = target_variance(done[0] + information_matrix(rows0, sel.counts), G0)
    named = "".join(f", {name} (fitted)" for name, _ in extra)
    rule = (f"model-robust greedy over {len(models)} families (joint, joint_nbeta gamma {list(HEDGE_GAMMAS)}{named}) "
            f"after {EXPLORE_SHARE:.0%} of the budget on space-filling runs")
    return SelectionResult(sel.counts, float(np.sum(sel.counts * costs)), float(np.sum(var)), var, full, rule, 0)
