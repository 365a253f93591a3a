"""compare_conditions: the classical decision table walked from a description of the data."""
from __future__ import annotations

from typing import Any

from ... import knowledge
from ...errors import InputError
from ...sops import sample_size_estimation as sse
from ...sops.sample_size_estimation import StepWarning
from .common import _method, _parametric
from .models import Input, Method, Output


def _compare_conditions(inp: Input) -> Output:
    path, warnings, alternatives = [], [], []
    post_hoc = None
    n = inp.runs_per_group
    if n is not None and n < 2:
        raise InputError("runs_per_group", f"runs_per_group must be >= 2 to estimate run-to-run variance; got {n}")
    small = n is not None and n < knowledge.load("statistics")["normality"]["small_sample"]
    if inp.n_groups == 1:
        path.append("one group against a reference value")
        primary = _method("one_sample_t") if _parametric(inp, path) else _method("wilcoxon")
    elif inp.n_groups == 2:
        parametric = _parametric(inp, path)
        if inp.paired:
            path.append("two conditions on the same units -> paired test (removes seed-to-seed variance)")
            primary = _method("paired_t") if parametric else _method("wilcoxon")
        else:
            path.append("two independent groups -> unpaired test")
            primary = _method("welch_t") if parametric else _method("mann_whitney")
        if small and not parametric:
            path.append(f"only {n} runs per group -> the exact permutation test replaces the rank test's large-sample p-value")
            alternatives.append(primary)
            primary = _method("permutation")
    else:
        parametric = _parametric(inp, path)
        if inp.paired:
            path.append(f"{inp.n_groups} conditions on the same units -> repeated-measures test")
            primary = _method("rm_anova") if parametric else _method("friedman_nemenyi")
        else:
            path.append(f"{inp.n_groups} independent groups -> one-way test")
            primary = _method("anova_tukey") if parametric else _method("kruskal_dunn")
        post_hoc = Method(id=primary.id + "_post_hoc", name=primary.name.split(", then ")[-1],
                          call=primary.call.split(", then ")[-1], reason="pairwise follow-up that keeps the family-wise error at alpha",
                          source=primary.source)
    if primary.id != "permutation":
        alternatives.append(_method("permutation"))
    bayes = _method("bayesian")
    if inp.equivalence_question:
        path.append("the question is practical relevance -> Bayesian comparison with a region of practical equivalence leads")
        alternatives.insert(0, primary)
        primary = bayes
    else:
        alternatives.append(bayes)
    multiplicity = None
    if inp.n_comparisons > 1:
        path.append(f"{inp.n_comparisons} hypotheses -> Holm-Bonferroni across them")
        multiplicity = _method("holm")
    if inp.n_groups >= 2 and n is not None and n < 3:
        warnings.append(StepWarning(code="very_few_runs", severity="warning",
                                    message=f"{n} runs per group: no test has useful power; plan more seeds (sample_size_estimation)"))
    return Output(task=inp.task, primary=primary, post_hoc=post_hoc, multiplicity=multiplicity, interval=_method("bootstrap_ci"),
                  alternatives=alternatives, decision_path=path, fit_config=None, model_selection=None, arms=None,
                  power_check=_power_check(inp, path), assumptions=_comparison_assumptions(inp),
                  defaults_used=[], warnings=warnings)


def _comparison_assumptions(inp: Input) -> list[str]:
    out = ["runs within a group are independent (different seeds, no shared failures)"]
    if inp.paired:
        out.append("pairs share everything but the condition (seed, data order, evaluation set)")
    out.append("the metric is measured the same way in every run (same evaluation set and protocol)")
    return out


def _power_check(inp: Input, path: list[str]) -> dict[str, Any] | None:
    """Power of the planned runs, or runs needed, for the given effect (sample_size_estimation)."""
    if inp.effect_size is None:
        return None
    design = ("one_sample" if inp.n_groups == 1 else "paired" if inp.paired and inp.n_groups == 2
              else "two_sample" if inp.n_groups == 2 else "anova")
    fields = {"design_type": design, "effect_size": inp.effect_size, "alpha": inp.alpha}
    if design == "anova":
        fields["k_groups"] = inp.n_groups
    if inp.runs_per_group is not None:
        fields["runs_per_group"] = inp.runs_per_group
    if inp.n_comparisons > 1 and design != "anova":  # each pairwise test at the corrected alpha (post-hoc tests of
        fields["n_comparisons"] = inp.n_comparisons  # an omnibus F keep the family-wise error themselves)
    out = sse.run(sse.Input(**fields))
    path.append(f"power check through sample_size_estimation ({design}, normal-theory; rank tests keep ~95% efficiency on normal data)")
    return {"design_type": design, "solved_for": out.solved_for, **out.result.model_dump()}


# -- scaling fits ----------------------------------------------------------------------------------
