"""metric_specification for a general experiment (``study_kind = "general"``): an ablation, a
hyperparameter or an architecture comparison between a few conditions, with seeds.

The upstream metric-specification SOP is shared by every experiment-design strategy, not only
scaling: these are its rules for a comparison of conditions. The test follows the same decision
table as statistical_method_selection (knowledge/statistics.toml): Welch t for two independent
conditions, one-way ANOVA with Tukey HSD (all pairs) or Dunnett (against a control) for more,
Holm-Bonferroni across metrics; Cohen's d (two conditions) or f (three or more) as the effect.
"""
from __future__ import annotations

from typing import Any

__all__ = ["general_significance", "general_protocol", "general_reporting", "n_comparisons", "GENERAL_REPLICATES"]

# Five seeds per condition: the smallest count at which a t interval is not dominated by its own
# uncertainty (t_0.975 = 2.78 at 4 df vs 4.30 at 2 df); Bouthillier et al. 2021 (MLSys, "Accounting
# for variance in machine learning benchmarks") show that fewer seeds mis-rank close conditions.
GENERAL_REPLICATES = 5
GENERAL_REPLICATES_SOURCE = ("5 seeds per condition: t_0.975 is 2.78 at 4 df vs 4.30 at 2 df; Bouthillier et al. 2021 "
                             "(Accounting for variance in ML benchmarks) on mis-ranking with few seeds")


def n_comparisons(n_conditions: int, against_control: bool) -> int:
    """Hypotheses tested: k - 1 against a control, k (k - 1) / 2 for all pairs."""
    return n_conditions - 1 if against_control else n_conditions * (n_conditions - 1) // 2


def general_significance(inp: Any, reps: int, alpha: float) -> dict[str, Any]:
    k = inp.n_conditions
    control = inp.comparisons == "against_control"
    m = n_comparisons(k, control)
    if k == 2:
        test = ("Welch t-test on the per-seed values of the two conditions (paired t-test when seeds and data order "
                "are shared between conditions)")
        correction = None if inp.n_metrics == 1 else "Holm-Bonferroni across the primary metrics"
        effect = "Cohen's d (difference of means / pooled sd), with its bootstrap interval"
    else:
        follow = "Dunnett's test against the control" if control else "Tukey HSD over all pairs"
        test = f"one-way ANOVA across the {k} conditions (Welch's ANOVA when variances differ), then {follow}"
        correction = ("Dunnett's family-wise correction" if control else "Tukey's family-wise correction") + \
            (f"; Holm-Bonferroni across the {inp.n_metrics} primary metrics" if inp.n_metrics > 1 else "")
        effect = "Cohen's f for the omnibus test; Cohen's d for each pairwise difference, with bootstrap intervals"
    return {
        "approach": (f"Per-condition mean of the per-seed values over {reps} seeds; the {k} conditions compared by "
                     f"{'a Welch t-test' if k == 2 else 'a one-way ANOVA and its follow-up'}; a difference is claimed only when the test rejects at "
                     "alpha and the interval of the difference excludes the minimum effect of interest."),
        "comparison_test": test, "multiple_comparison_correction": correction, "n_comparisons": m,
        "alpha_per_comparison": alpha / m if m > 1 else alpha, "effect_size_type": effect,
        "sidedness": inp.sidedness, "minimum_effect_size": inp.minimum_effect_size,
        "seed_variance_protocol": (f"train every condition with the same {reps} seeds (initialisation and data order); "
                                   "report the seed-to-seed sd per condition"),
        "noise_reference": "the seed-to-seed sd measured in the runs; plan with sample_size_estimation when a pilot sd exists",
        "source": "knowledge/statistics.toml decision table (Welch 1947; Tukey 1949; Dunnett 1955; Holm 1979); Cohen 1988",
    }


def general_protocol(inp: Any, metric_name: str, reps: int) -> list[str]:
    return [
        f"Freeze one evaluation set ({inp.evaluation_data or 'a held-out split never used for tuning'}) before the "
        "first run and evaluate every condition on it with the same code.",
        f"Train every condition with the same budget (steps or tokens), schedule and {reps} seeds; change only the "
        "factor under study.",
        f"Measure {metric_name} at the end of training (or at the checkpoint chosen by a rule fixed in advance, "
        "never the best of many looks).",
        "Log per run: condition, seed, the metric, the training loss curve, wall-clock and GPU-hours.",
        "Randomise the order of runs on the hardware (design_matrix_construction) so drift does not follow a condition.",
    ]


def general_reporting(decimals: int) -> dict[str, Any]:
    return {
        "per_run_table": ["condition", "seed", "primary metric", "secondary metrics", "GPU-hours"],
        "plots": ["the metric per condition: every seed as a point, the mean and its interval",
                  "the difference to the control (or each pair) with its interval and the minimum effect marked"],
        "conventions": ["evaluation set and metric definition", "seeds shared across conditions or not",
                        "test, correction and alpha"],
        "precision": f"{decimals} decimals for the metric; effects with their interval, never rounded before use",
        "central_tendency": "mean over seeds (median when the values are skewed)",
        "uncertainty": "sd over seeds and the 95% interval of the mean (t) and of each difference (bootstrap)",
        "decimals": decimals,
    }
