"""statistical_method_selection.run and its documented example."""
from __future__ import annotations

from typing import Any

from ...sops.sample_size_estimation import StepWarning
from .comparison import _compare_conditions
from .models import Input, Output
from .scaling import _scaling


def run(inp: Input) -> Output:
    """Pick the test or fitting procedure for the data described."""
    if inp.task == "compare_conditions":
        if inp.outcome_type == "ordinal" and inp.normality != "no":
            inp = inp.model_copy(update={"normality": "no"})  # ranks are not normal: the rank-based branch
        out = _compare_conditions(inp)
        power = (out.power_check or {}).get("power")
        if power is not None and power < 0.8:
            out.power_check_failed = True
            out.warnings.append(StepWarning(code="underpowered", severity="warning", message=(
                f"power {power:.2f} < 0.80 for effect_size {inp.effect_size:g} with runs_per_group {inp.runs_per_group}: "
                "plan more seeds (sample_size_estimation solves for them) or report the result as inconclusive")))
        out.study_kind, out.outcome_type = inp.study_kind, inp.outcome_type
        return out
    out = _scaling(inp)
    out.study_kind = inp.study_kind
    if inp.runs and inp.task == "fit_scaling_law":
        from ..form_selection import select_from_runs
        out.selection = select_from_runs(inp.runs)
        out.decision_path.append(f"runs given: rolling extrapolation chose {out.selection['chosen']['form']} with "
                                 f"{out.selection['chosen']['objective']} (tie among {out.selection['competitive']})"
                                 if out.selection["tie"] else
                                 f"runs given: rolling extrapolation chose {out.selection['chosen']['form']} with "
                                 f"{out.selection['chosen']['objective']}")
    return out


DESCRIPTION = """
Which statistical method to use, with the reason for each choice.
- task=compare_conditions: from a description of the data (n_groups, paired, normality,
  runs_per_group, n_comparisons) walks the classical decision table (paired/Welch t, ANOVA + Tukey,
  Wilcoxon/Mann-Whitney, Kruskal-Wallis + Dunn, Friedman + Nemenyi, permutation, Bayesian,
  bootstrap CI, Holm) and returns the test, its follow-up, the correction and the library call;
  with effect_size it also checks power via sample_size_estimation.
- task=fit_scaling_law: picks the law form, objective (Huber on log residuals, delta), bootstrap
  intervals (clustered by scale) and form selection (leave the largest scale out); `fit_config`
  is accepted as is by fit_scaling_law.
- task=compare_arms: for two arms (e.g. architectures) tests whether the exponent differs or only
  the intercept (shared vs separate exponents), with p-values and the exponent difference with an
  interval when arm_a_/arm_b_ data are given; arms_form auto (default) checks the log-log curvature
  and fits the saturating law when the curves bend; the arms are also compared by predicted loss at
  arms_target_scale (default the largest run), with intervals.
Next: fit_scaling_law with fit_config, or sample_size_estimation to size the runs.
"""

EXAMPLE: dict[str, Any] = {
    "task": "fit_scaling_law",
    "scaling_axes": "params_and_tokens",
    "n_runs": 30,
    "n_scales": 30,
    "replicates": 1,
    "outliers_expected": True,
    "seed": 0,
}
