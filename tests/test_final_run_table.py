"""The plan's one final run table: design.csv, the template and the report are views of it, and the
report's own "Next steps" commands succeed on the filled template."""
import csv
import io
import json
import re
import shlex
from importlib import resources

import numpy as np
import pytest

from scaling_design.cli import main
from scaling_design.strategy import EXAMPLE, Input, run

TRUTH = {"E": 1.817, "A": 482.01, "B": 2085.43, "alpha": 0.348, "beta": 0.366}  # the epoch law, as ground truth
NOISE_SEED = 20261202  # fixed before looking at any fit


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _fill(template: str, noise: float = 0.005) -> str:
    rng = np.random.default_rng(NOISE_SEED)
    rows = _rows(template)
    for r in rows:
        n, d = float(r["N"]), float(r["D"])
        loss = TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]
        r["loss"] = repr(loss * float(np.exp(rng.normal(0.0, noise))))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _next_step_commands(report: str) -> list[list[str]]:
    section = report.split("## Next steps", 1)[1]
    return [shlex.split(c)[1:] for c in re.findall(r"`(scaling-design [^`]+)`", section)]


@pytest.fixture(scope="module")
def model_plan():
    return run(Input(**dict(EXAMPLE, n_sims=20)))


def test_design_csv_is_the_final_table_row_for_row(model_plan):
    plan = model_plan
    rows = _rows(plan.design_csv)
    table = plan.run_table.runs
    assert [r["run_id"] for r in rows] == [t["run_id"] for t in table]
    assert [int(r["seed"]) for r in rows] == [t["seed"] for t in table]
    assert [int(r["run_order"]) for r in rows] == [t["run_order"] for t in table]
    assert {"run_id", "run_order", "replicate", "seed", "role", "block"} <= set(rows[0])
    # the report's final table shows the same ids and seeds in the same order
    section = plan.report_markdown.split("## Final run table", 1)[1].split("\n## ", 1)[0]
    shown = [(m[0], int(m[1])) for m in re.findall(r"^\| (r\d{4}) \| (\d+) \|", section, re.M)]
    assert shown == [(t["run_id"], t["run_order"]) for t in table]
    for t in table:
        assert str(t["seed"]) in section


def test_run_order_is_a_permutation_that_is_not_the_cost_order(model_plan):
    table = model_plan.run_table.runs
    order = [t["run_order"] for t in table]
    assert sorted(order) == list(range(1, len(table) + 1))
    fit_costs = [t["C"] for t in table if t["role"] == "fit"]
    assert fit_costs == sorted(fit_costs)  # ids read cheapest first ...
    by_order = [t["C"] for t in sorted(table, key=lambda t: t["run_order"])]
    assert by_order != sorted(by_order)  # ... the run order is not the cost order
    assert len({t["seed"] for t in table}) == len(table)


def test_the_validation_run_is_in_the_table_and_the_record(model_plan):
    plan = model_plan
    val = [t for t in plan.run_table.runs if t["role"] == "validation"]
    assert len(val) == 1
    top_fit = max(t["N"] for t in plan.run_table.runs if t["role"] == "fit")
    assert top_fit < val[0]["N"] <= plan.extrapolation_target["value"]
    assert plan.validation_point["run_ids"] == [val[0]["run_id"]]
    assert [r["role"] for r in _rows(plan.results_template_csv)].count("validation") == 1


def test_the_orchestrator_record_counts_the_final_table(model_plan):
    plan = model_plan
    table = plan.run_table.runs
    assert plan.total_runs == len(table) == plan.summary.n_runs
    assert plan.estimated_total_flops == pytest.approx(sum(t["C"] for t in table))
    assert plan.estimated_gpu_hours == pytest.approx(sum(t["gpu_hours"] for t in table))
    assert plan.fitting_model["form"] == "saturating" and plan.fitting_model["objective"].startswith("huber")
    assert plan.extrapolation_target == {"axis": "N", "value": 7e9, "quantity": "loss"}
    assert plan.significance_threshold == 0.05


@pytest.mark.slow
@pytest.mark.parametrize("example, truth_keys", [("model-scaling", {"alpha": "alpha"}),
                                                 ("data-scaling", {"alpha": "beta"}),
                                                 ("compute-optimal", {"alpha": "alpha", "beta": "beta"})])
def test_the_reports_next_steps_succeed_on_the_filled_template(tmp_path, capsys, example, truth_keys):
    out = tmp_path / "plan"
    assert main(["plan", "--example", example, "--out", str(out), "--no-plots"]) == 0
    template = out / "results-template.csv"
    template.write_text(_fill(template.read_text()))
    commands = _next_step_commands((out / "report.md").read_text())
    fits = [c for c in commands if c[0] == "fit"]
    assert fits, "the report names a fit command"
    # the report's fit as JSON (its intervals are checked below; allocate reads it as --law)
    fit_argv = [a.replace("results-template.csv", str(template)) for a in fits[0]]
    fit_argv = fit_argv[:fit_argv.index("--format")] + ["--format", "json"]
    capsys.readouterr()
    assert main(fit_argv) == 0
    fit_text = capsys.readouterr().out
    fit = json.loads(fit_text)
    (tmp_path / "fit.json").write_text(fit_text)
    for argv in commands:  # exactly as printed; the budget and the fit file are the user's to fill in
        argv = [a.replace("results-template.csv", str(template)).replace("<FLOPs>", "1e24")
                .replace("<fit.json>", str(tmp_path / "fit.json")) for a in argv]
        assert main(argv) == 0, argv
    # validation rows are scored against the fit, not fitted
    rows = _rows(template.read_text())
    assert fit["n_runs"] == sum(r["role"] == "fit" for r in rows)
    held = [r for r in rows if r["role"] == "validation"]
    assert held and len(fit["validation"]) == len(held)
    for fitted, true in truth_keys.items():
        low, high = fit["intervals"][fitted]["low"], fit["intervals"][fitted]["high"]
        assert low <= TRUTH[true] <= high, (fitted, low, high)


def test_a_plan_whose_levels_the_budget_cut_needs_revision_with_the_reason():
    plan = run(Input(**dict(EXAMPLE, budget_gpu_hours=150, n_sims=20)))
    fit_sizes = {t["N"] for t in plan.run_table.runs if t["role"] == "fit"}
    assert len(fit_sizes) < len(plan.level_specification.factors[0].levels)
    assert plan.verdict != "ready"
    assert any(r.startswith("levels_as_specified") for r in plan.reasons)
    gate = next(c for c in plan.checks if c.name == "budget_gate_runs")
    assert gate.detail.startswith(f"{sum(t['role'] == 'fit' for t in plan.run_table.runs)} runs")


@pytest.fixture(scope="module")
def inference_plan():
    args = json.loads((resources.files("scaling_design") / "examples" / "inference-scaling.json").read_text())
    return run(Input(**args))


def test_every_inference_cell_has_a_memory_verdict_against_the_accelerator(inference_plan):
    plan = inference_plan
    assert all(isinstance(r["memory_gb"], float) and isinstance(r["memory_ok"], bool) for r in plan.run_table.runs)
    # weights alone (2 bytes x ~7e9) are ~14 GB; the largest cells hold over a terabyte of KV cache
    smallest = min(plan.run_table.runs, key=lambda r: r["batch_size"] * r["seq_len"])
    assert smallest["memory_ok"] and 13 < smallest["memory_gb"] < 20
    check = next(c for c in plan.checks if c.name == "cells_fit_in_memory")
    over = [r for r in plan.run_table.runs if not r["memory_ok"]]
    assert over and not check.passed and "batch 256 x 16384 tokens" in check.detail
    assert {"memory_gb", "memory_ok"} <= set(_rows(plan.design_csv)[0])


def test_the_inference_figure_has_batch_and_sequence_length_on_its_axes(inference_plan, tmp_path):
    from scaling_design import plots

    fig = plots._figure()
    ax = fig.add_subplot()
    _, columns = plots.planned_runs(inference_plan.design_csv)
    plots._plot_inference(ax, columns)
    assert ax.get_xlabel().startswith("batch size") and ax.get_ylabel().startswith("sequence length")
    assert len(fig.axes) == 2  # the colour scale has its colorbar
    assert plots.plot_plan(inference_plan, tmp_path)  # and the plan's own figure is written


def test_the_inference_report_has_no_training_flop_language(inference_plan):
    text = inference_plan.report_markdown.lower()
    for phrase in ("6nd", "training flops", "model it trains", "to fit_scaling_law"):
        assert phrase not in text, phrase


def test_an_undecided_monte_carlo_step_lowers_the_verdict_and_says_it_once():
    from scaling_design.strategy.checks import _check_step_findings
    from scaling_design.sops import metric_specification as ms

    class Step:
        def model_dump(self, mode="json"):
            return {"warnings": [{"code": "step_undecided", "severity": "warning",
                                  "message": "at 84 runs the error cannot be told from the target: raise n_sims"}]}

    checks = _check_step_findings({"sample_size_estimation": Step(),
                                   "metric_specification": ms.run(ms.Input(scaling_type="model"))})
    sizing = next(c for c in checks if c.name == "sizing_decided")
    assert not sizing.passed and sizing.severity == "minor" and sizing.detail.count("raise n_sims") == 1


@pytest.fixture(scope="module")
def compute_plan():
    args = json.loads((resources.files("scaling_design") / "examples" / "compute-optimal.json").read_text())
    return run(Input(**dict(args, n_sims=20)))


def test_a_compute_optimal_plan_holds_out_a_run_above_its_largest_budget_toward_the_target(compute_plan):
    from scaling_design.laws.allocation import compute_optimal
    from scaling_design import knowledge

    plan = compute_plan
    val = [t for t in plan.run_table.runs if t["role"] == "validation"]
    assert len(val) == 1
    top_budget = max(t["C"] for t in plan.run_table.runs if t["role"] == "fit")
    assert top_budget < val[0]["C"] <= plan.extrapolation_target["value"]
    # at the prior law's compute-optimal split of that budget, costed like every other run
    p = knowledge.published_law("epoch")["params"]
    opt = compute_optimal([p[k] for k in ("E", "A", "B", "alpha", "beta")], val[0]["C"])
    assert val[0]["N"] == pytest.approx(float(opt["N_opt"])) and val[0]["D"] == pytest.approx(float(opt["D_opt"]))
    assert val[0]["C"] == pytest.approx(6 * val[0]["N"] * val[0]["D"]) and val[0]["gpu_hours"] > 0
    assert plan.validation_point["axis"] == "C" and plan.validation_point["run_ids"] == [val[0]["run_id"]]
    check = next(c for c in plan.checks if c.name == "validation_run")
    assert check.passed and "above the largest fitted" in check.detail


def test_the_compute_optimal_validation_run_is_in_design_csv_and_the_template(compute_plan):
    plan = compute_plan
    run_id = plan.validation_point["run_ids"][0]
    for text in (plan.design_csv, plan.results_template_csv):
        rows = {r["run_id"]: r for r in _rows(text)}
        assert rows[run_id]["role"] == "validation"
        assert sum(r["role"] == "validation" for r in rows.values()) == 1
    assert plan.total_runs == plan.run_table.n_fit + 1
    assert plan.estimated_total_flops == pytest.approx(sum(t["C"] for t in plan.run_table.runs))


@pytest.mark.parametrize("fixture", ["model_plan", "compute_plan", "inference_plan"])
def test_a_plan_report_cites_papers_or_knowledge_rows_never_internal_notes(fixture, request):
    text = request.getfixturevalue(fixture).report_markdown
    for marker in ("SCALING_NOTES", "(check)", "seed 000", "skill notes"):
        assert marker not in text, marker
