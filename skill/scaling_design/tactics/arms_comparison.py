"""statistical_method_selection's compare_arms task on data: the result model and the call.

The numerics are laws.compare.compare_arms: a curvature check chooses the law (form auto),
nested F tests ask "slope or intercept?" under an omnibus guard, and the arms are also
compared by predicted loss at a target scale.
"""
from __future__ import annotations

from pydantic import BaseModel, Field

from ..errors import InputError
from ..laws.compare import compare_arms
from ..laws.results import LawInputError
from ..sops.sample_size_estimation import StepWarning

__all__ = ["ArmsResult", "run_arms"]


class ArmsResult(BaseModel):
    form: str = Field(description="Law fitted to each arm (with form auto: saturating when the log-log curves bend, else power).")
    form_choice: str = Field(description="given (arms_form named it) or curvature (auto chose by the curvature test).")
    curvature_p_value: float | None = Field(description="F test of the power law against the saturating law, both arms pooled (small: the curves bend).")
    verdict: str = Field(description="exponent_differs, intercept_only or no_difference_detected at `alpha` (the omnibus test guards both).")
    global_p_value: float = Field(description="Omnibus F test: one common law vs a law per arm.")
    slope_p_value: float = Field(description="F test, separate vs shared exponents.")
    slope_f: float = Field(description="F statistic of the slope test.")
    slope_df: list[int] = Field(description="Degrees of freedom (numerator, denominator) of the slope test.")
    intercept_p_value: float = Field(description="F test, shared exponent vs one common law (given a shared exponent).")
    intercept_f: float = Field(description="F statistic of the intercept test.")
    intercept_df: list[int] = Field(description="Degrees of freedom of the intercept test.")
    exponent_a: float = Field(description="Arm A's exponent (separate fits).")
    exponent_b: float = Field(description="Arm B's exponent.")
    exponent_difference: float = Field(description="B minus A.")
    difference_low: float = Field(description="Lower end of the interval of the difference.")
    difference_high: float = Field(description="Upper end.")
    level: float = Field(description="Confidence level of the intervals.")
    faster_by_exponent: str = Field(description="arm_a or arm_b (the larger exponent), or undecided when the interval holds 0.")
    shared_exponent: float = Field(description="Exponent of the shared-exponent fit.")
    intercept_effect: float = Field(description="Relative loss of B vs A at the reference scale under the shared exponent (0.05 = B 5% higher).")
    reference_scale: float = Field(description="Geometric mean of all scales, where intercept_effect is read.")
    target_scale: float = Field(description="Scale where the arms' predicted losses are compared (default the largest run).")
    target_decades_beyond_data: float = Field(description="How far the target lies beyond the largest run (decades; 0 inside).")
    loss_a_at_target: float = Field(description="Arm A's predicted loss at the target scale.")
    loss_a_interval: list[float] = Field(description="Its interval [low, high] (delta method, pooled residual variance).")
    loss_b_at_target: float = Field(description="Arm B's predicted loss at the target scale.")
    loss_b_interval: list[float] = Field(description="Its interval [low, high].")
    target_ratio: float = Field(description="Loss B / loss A at the target (below 1: B better).")
    target_ratio_interval: list[float] = Field(description="Interval of the ratio.")
    better_at_target: str = Field(description="arm_a or arm_b (lower predicted loss), or undecided when the ratio's interval holds 1.")
    crossover_scale: float | None = Field(description="Scale where the two fitted curves cross, if they do within 1e6 x the largest run.")
    n_runs: list[int] = Field(description="Runs in arm A and arm B.")


def run_arms(inp, warnings: list[StepWarning]) -> ArmsResult | None:
    """Run the comparison on the arms' data in `inp` (statistical_method_selection's Input)."""
    if inp.arm_a_scales is None:
        warnings.append(StepWarning(code="no_arm_data", severity="info",
                                    message="no arm data given: this is the configuration; pass arm_a_/arm_b_ scales and losses to run the test"))
        return None
    try:
        res = compare_arms(inp.arms_form, inp.arm_a_scales, inp.arm_a_losses, inp.arm_b_scales, inp.arm_b_losses,
                           alpha=inp.alpha, level=inp.level, target_scale=inp.arms_target_scale)
    except LawInputError as exc:
        field = "arms_target_scale" if exc.field == "target_scale" else exc.field
        raise InputError(field, str(exc).replace("target_scale", field, 1)) from None
    for d in res.diagnostics:
        warnings.append(StepWarning(code=d.code, severity=d.severity, message=d.message))
    name = next(iter(res.exponents_a))
    iv, t = res.difference_intervals[name], res.at_target
    return ArmsResult(form=res.form, form_choice=res.form_choice,
                      curvature_p_value=res.curvature_test.p_value if res.curvature_test else None,
                      verdict=res.verdict, global_p_value=res.global_test.p_value,
                      slope_p_value=res.slope_test.p_value, slope_f=res.slope_test.statistic,
                      slope_df=[res.slope_test.df_num, res.slope_test.df_denom],
                      intercept_p_value=res.intercept_test.p_value, intercept_f=res.intercept_test.statistic,
                      intercept_df=[res.intercept_test.df_num, res.intercept_test.df_denom],
                      exponent_a=res.exponents_a[name], exponent_b=res.exponents_b[name],
                      exponent_difference=res.differences[name], difference_low=iv.low, difference_high=iv.high,
                      level=iv.level, faster_by_exponent=res.faster_by_exponent,
                      shared_exponent=res.shared_exponents[name], intercept_effect=res.intercept_effect,
                      reference_scale=res.reference_scale[0], target_scale=t.scale[0],
                      target_decades_beyond_data=t.decades_beyond_data,
                      loss_a_at_target=t.loss_a, loss_a_interval=[t.interval_a.low, t.interval_a.high],
                      loss_b_at_target=t.loss_b, loss_b_interval=[t.interval_b.low, t.interval_b.high],
                      target_ratio=t.ratio, target_ratio_interval=[t.ratio_interval.low, t.ratio_interval.high],
                      better_at_target=t.better, crossover_scale=t.crossover_scale, n_runs=list(res.n_runs))
