"""The whole mission on known truth: plan a compute-optimal study, run it against a known
law (the results template filled with simulated losses), fit the results, allocate a
budget, and recover the truth within the fit's own precision."""
import csv
import io
import json

import numpy as np
import pytest

from scaling_design import knowledge
from scaling_design.analysis import compute_optimal_allocation as alloc_tool
from scaling_design.analysis import fit_scaling_law as fit_tool
from scaling_design.laws import allocation
from scaling_design.cli import load_example
from scaling_design.strategy import Input, run

TRUTH = knowledge.published_law("epoch")["params"]


@pytest.fixture(scope="module")
def filled_results():
    plan = run(Input(**{**load_example("compute-optimal"), "n_sims": 40}))
    assert plan.verdict in ("ready", "needs-revision")
    rows = list(csv.DictReader(io.StringIO(plan.results_template_csv)))
    assert rows and all(r["loss"] == "" for r in rows)
    rng = np.random.default_rng(7)
    for r in rows:
        clean = float(allocation.joint_loss(TRUTH, float(r["N"]), float(r["D"])))
        r["loss"] = repr(float(clean * np.exp(rng.normal(0.0, 0.005))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return plan, out.getvalue()


def test_the_filled_results_template_fits_back_to_the_true_law(filled_results):
    plan, text = filled_results
    fit = fit_tool.run(fit_tool.Input(csv_text=text, form="chinchilla", bootstrap=200, seed=0))
    assert fit.converged and fit.n_skipped == 0
    rows = list(csv.DictReader(io.StringIO(plan.results_template_csv)))
    # the validation run (a budget above the largest isoFLOP budget) is held out of the fit and scored after it
    assert fit.n_runs == sum(r["role"] == "fit" for r in rows)
    assert len(fit.validation) == sum(r["role"] == "validation" for r in rows) == 1
    for name in ("alpha", "beta"):
        assert fit.params[name] == pytest.approx(TRUTH[name], abs=0.05), name
        assert fit.intervals[name].low < TRUTH[name] < fit.intervals[name].high, name
    assert fit.allocation_exponents["a"] == pytest.approx(TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"]), abs=0.04)


def test_the_fitted_law_allocates_the_target_budget_close_to_the_truth(filled_results, tmp_path):
    _, text = filled_results
    fit = fit_tool.run(fit_tool.Input(csv_text=text, form="chinchilla"))
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(fit.model_dump(mode="json")))
    ours = alloc_tool.run(alloc_tool.Input(compute=[1e23], law=str(path))).allocations[0]
    truth = allocation.compute_optimal(TRUTH, 1e23)
    # two decades beyond the largest planned budget: N_opt within a factor 1.5 of the truth
    assert 1 / 1.5 < ours.N_opt / float(truth["N_opt"]) < 1.5
    assert ours.loss == pytest.approx(float(truth["loss"]), rel=0.02)
