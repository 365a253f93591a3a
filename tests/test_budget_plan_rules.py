"""budget_constrained_design: budgets in money and wall-clock hours, the cut order, the stopping rules."""
import numpy as np
import pytest
from pydantic import ValidationError

from scaling_design.tactics import budget_constrained_design as bcd

BASE = {**bcd.EXAMPLE, "monte_carlo_sims": 0}


def test_money_and_wall_clock_budgets_become_gpu_hours():
    money = bcd.run(bcd.Input(**{**BASE, "budget": 20000, "budget_unit": "usd", "usd_per_gpu_hour": 2.5}))
    assert money.budget.gpu_hours == pytest.approx(8000) and money.budget.usd == pytest.approx(20000)
    assert money.total_gpu_hours <= 8000 * (1 + 1e-9)
    clock = bcd.run(bcd.Input(**{**BASE, "budget": 2, "budget_unit": "wall_clock_hours", "n_gpus": 64}))
    assert clock.budget.gpu_hours == pytest.approx(128) and clock.budget.wall_clock_hours == pytest.approx(2)


@pytest.mark.parametrize("unit, field", [("usd", "usd_per_gpu_hour"), ("wall_clock_hours", "n_gpus")])
def test_a_money_or_clock_budget_without_its_rate_is_refused_naming_the_field(unit, field):
    with pytest.raises(ValidationError) as err:
        bcd.Input(**{**BASE, "budget_unit": unit})
    assert field in str(err.value)


def test_a_run_longer_than_the_wall_clock_is_flagged():
    out = bcd.run(bcd.Input(**{**BASE, "budget": 0.05, "budget_unit": "wall_clock_hours", "n_gpus": 10000}))
    longest = max(r["gpu_hours"] for r in out.runs) / 10000
    assert ("run_exceeds_wall_clock" in [w.code for w in out.warnings]) == (longest > 0.05)


def test_the_cut_order_drops_first_the_run_that_costs_the_target_least_per_flop():
    out = bcd.run(bcd.Input(**{**BASE, "budget": 5e19, "hedge": False}))
    cuts = out.cut_order
    assert sorted(c.run_id for c in cuts) == sorted(r["run_id"] for r in out.runs)
    assert np.allclose(np.cumsum([c.cost_flops for c in cuts]), [c.cumulative_saved_flops for c in cuts])
    sds = [c.predicted_sd_after for c in cuts if c.predicted_sd_after is not None]
    assert sds and all(b >= a * (1 - 1e-9) for a, b in zip(sds, sds[1:]))  # cutting never buys precision
    # the first cut is the best single cut: brute force over the chosen runs
    by_id = {r["run_id"]: r for r in out.runs}
    base_var = out.predicted_sd ** 2

    def cost_of_cut(run_id):
        kept = [{"N": r["N"], "D": r["D"], "cost_flops": r["C"]} for r in out.runs if r["run_id"] != run_id]
        again = bcd.run(bcd.Input(**{**BASE, "budget": 1e30, "candidates": kept, "hedge": False}))
        return (again.predicted_sd ** 2 - base_var) / by_id[run_id]["C"]

    first = cost_of_cut(cuts[0].run_id)
    others = [cost_of_cut(c.run_id) for c in cuts[1:4]]
    assert all(first <= o * (1 + 1e-6) + 1e-30 for o in others)


def test_stopping_rules_name_the_precision_the_runs_buy():
    out = bcd.run(bcd.Input(**BASE))
    assert any(f"{out.predicted_sd:.3g}" in rule for rule in out.stopping_rules)
    assert any("completed_runs" in rule for rule in out.stopping_rules)
