"""The command line: plan, call, fit, allocate, skill install, and one-line errors."""
from __future__ import annotations

import csv
import io
import json
import sys

import numpy as np
import pytest

from scaling_design import knowledge
from scaling_design.cli import example_names, main
from scaling_design.report import render_step
from scaling_design.resources import procedure_docs, skill_md_path
from scaling_design.strategy import STEP_ORDER
from scaling_design.tools import TOOLS


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """Every built-in example planned once through the CLI: name -> (exit code, stdout, folder)."""
    results = {}
    for name in example_names():
        folder = tmp_path_factory.mktemp(name)
        buf_out, buf_err = io.StringIO(), io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = buf_out, buf_err
        try:
            code = main(["plan", "--example", name, "--out", str(folder)])
        finally:
            sys.stdout, sys.stderr = saved
        results[name] = (code, buf_out.getvalue() + buf_err.getvalue(), folder)
    return results


def test_the_four_kinds_of_study_ship_as_examples():
    assert {"model-scaling", "data-scaling", "compute-optimal", "inference-scaling"} <= set(example_names())


@pytest.mark.parametrize("name", ["model-scaling", "data-scaling", "compute-optimal", "inference-scaling"])
def test_plan_writes_a_report_with_a_section_per_step_a_verdict_and_a_plot(plans, name):
    code, printed, folder = plans[name]
    assert code == 0, printed
    plan = json.loads((folder / "plan.json").read_text())
    report = (folder / "report.md").read_text()
    assert plan["verdict"] in ("ready", "needs-revision", "major-issues")
    assert f"**Verdict: {plan['verdict']}**" in report and f"verdict: {plan['verdict']}" in printed
    for step in STEP_ORDER:
        if plan[step] is None:
            assert step in plan["skipped_steps"] and plan["skipped_steps"][step] in report
        else:
            heading = render_step(step, plan[step]).splitlines()[0]
            assert heading.startswith("## ") and heading in report.splitlines(), step
    pngs = list(folder.glob("*.png"))
    assert pngs and all(p.stat().st_size > 5000 for p in pngs)
    assert all(f"]({p.name})" in report for p in pngs)
    for written in ("report.md", "plan.json", "design.csv", "results-template.csv"):
        assert str(folder / written) in printed


@pytest.mark.parametrize("name", ["model-scaling", "compute-optimal"])
def test_the_design_files_hold_the_final_runs_and_an_empty_loss_column(plans, name):
    _, _, folder = plans[name]
    plan = json.loads((folder / "plan.json").read_text())
    design = list(csv.DictReader((folder / "design.csv").open()))
    template = list(csv.DictReader((folder / "results-template.csv").open()))
    assert len(design) == len(template) == plan["summary"]["n_runs"]
    assert all(row["loss"] == "" for row in template)
    flops = sum(float(r["C"]) for r in design)
    assert flops == pytest.approx(plan["summary"]["total_flops"], rel=1e-9)
    assert flops <= plan["summary"]["budget_flops"] * (1 + 1e-9)


def test_plan_reads_its_input_from_a_file(tmp_path, capsys):
    spec = {"question": "How does validation loss scale with model size at a fixed 10B tokens?", "scaling_type": "model",
            "budget_gpu_hours": 3000, "fixed_tokens": 1e10, "scale_min": 2e7, "scale_max": 5e8, "n_sims": 30}
    path = tmp_path / "study.json"
    path.write_text(json.dumps(spec))
    code, out, err = _run(capsys, "plan", "--input", str(path), "--out", str(tmp_path / "out"), "--no-plots")
    assert code == 0, err
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert {float(r["D"]) for r in plan["design_matrix_construction"]["runs"]} == {1e10}
    assert not list((tmp_path / "out").glob("*.png"))


def test_call_runs_a_registered_tool_and_prints_its_json(tmp_path, capsys):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"compute": [1e22], "law": "hoffmann"}))
    code, out, _ = _run(capsys, "call", "compute_optimal_allocation", "--input", str(path))
    assert code == 0
    result = json.loads(out)
    assert result["law"] == "hoffmann" and result["allocations"][0]["compute"] == 1e22


def test_call_reads_the_arguments_from_stdin(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(TOOLS["metric_specification"].example)))
    code, out, _ = _run(capsys, "call", "metric_specification", "--input", "-")
    assert code == 0
    assert json.loads(out)["scaling_type"] == TOOLS["metric_specification"].example["scaling_type"]


@pytest.mark.parametrize("argv, named", [
    (["call", "compute_optimal_allocation", "--input", "{missing}"], "--input"),
    (["call", "no_such_tool", "--input", "x.json"], "TOOL"),
    (["plan", "--example", "no-such-example", "--out", "x"], "--example"),
    (["allocate", "--compute", "-5"], "compute"),
    (["allocate", "--compute", "1e24", "--law", "no-such-law"], "law"),
    (["fit", "{missing}", "--form", "chinchilla"], "csv_path"),
    (["fit", "runs.csv", "--form", "cubic"], "form"),
    (["fit", "runs.csv", "--form", "chinchilla", "--predict", "N:7e10"], "--predict"),
])
def test_bad_input_is_one_line_on_stderr_naming_the_field_with_exit_status_2(tmp_path, capsys, argv, named):
    argv = [a.replace("{missing}", str(tmp_path / "missing")) for a in argv]
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert named in err


def test_an_invalid_json_input_names_the_option_and_the_position(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"compute": [1e24,]}')
    code, _, err = _run(capsys, "call", "compute_optimal_allocation", "--input", str(path))
    assert code == 2 and "--input: not valid JSON" in err and "line 1" in err


def _synthetic_runs(path, params, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for n in (4e7, 1e8, 2.5e8, 6e8, 1.5e9):
        for tpp in (5, 20, 80):
            d = n * tpp
            loss = params["E"] + params["A"] / n ** params["alpha"] + params["B"] / d ** params["beta"]
            rows.append({"N": n, "D": d, "loss": loss * float(np.exp(noise * rng.standard_normal()))})
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["N", "D", "loss"])
        writer.writeheader()
        writer.writerows(rows)


def test_fit_passes_its_options_to_fit_scaling_law_and_recovers_a_noiseless_law(tmp_path, capsys):
    truth = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
    path = tmp_path / "runs.csv"
    _synthetic_runs(path, truth)
    code, out, err = _run(capsys, "fit", str(path), "--form", "chinchilla", "--objective", "ls-log",
                          "--bootstrap", "20", "--seed", "7", "--format", "json")
    assert code == 0, err
    fit = json.loads(out)
    assert fit["objective"] == "ls-log" and fit["n_runs"] == 15
    assert fit["se_source"] == "bootstrap" and fit["bootstrap"]["seed"] == 7
    for name, value in truth.items():
        assert fit["params"][name] == pytest.approx(value, rel=1e-3), name


def test_fit_as_text_prints_the_fit_report_and_writes_the_figures(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    _synthetic_runs(path, {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}, noise=0.005)
    code, out, err = _run(capsys, "fit", str(path), "--form", "chinchilla", "--format", "text",
                          "--predict", "N=7e10,D=1.4e12", "--plots", str(tmp_path / "figs"))
    assert code == 0, err
    assert out.startswith("## Fitted scaling law") and "| alpha |" in out
    assert "| N=7e+10, D=1.4e+12 |" in out and "decades beyond the data" in out
    assert (tmp_path / "figs" / "fit.png").stat().st_size > 5000
    assert (tmp_path / "figs" / "residuals.png").stat().st_size > 5000


def _closed_form_n_opt(p, compute):
    """Hoffmann et al. 2022, appendix: N_opt = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta))."""
    g = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    return g * (compute / 6) ** (p["beta"] / (p["alpha"] + p["beta"]))


def test_the_fit_figure_draws_the_interval_band_of_the_same_fit(tmp_path):
    from scaling_design.plots import _band_from_predictions, _curves, band_points

    path = tmp_path / "runs.csv"
    _synthetic_runs(path, {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}, noise=0.005)
    fit_tool = TOOLS["fit_scaling_law"]
    fit = fit_tool.call({"csv_path": str(path), "form": "chinchilla"})
    band = fit_tool.call({"csv_path": str(path), "form": "chinchilla", "predict_at": band_points(fit)}).predictions
    rows = [b.model_dump(mode="json") for b in band]
    dumped = fit.model_dump(mode="json")
    for _, _, Xg in _curves(dumped):
        low, high = _band_from_predictions(rows, Xg, list(fit.inputs))
        assert low is not None and np.all(low < high)


def test_allocate_gives_the_closed_form_optimum_of_the_published_law(capsys):
    code, out, _ = _run(capsys, "allocate", "--compute", "1e24", "--compute", "1e21", "--law", "epoch")
    assert code == 0
    result = json.loads(out)
    epoch = knowledge.published_law("epoch")["params"]
    assert [a["compute"] for a in result["allocations"]] == [1e24, 1e21]
    for a in result["allocations"]:
        assert a["N_opt"] == pytest.approx(_closed_form_n_opt(epoch, a["compute"]), rel=1e-9)
        assert a["N_opt"] * a["D_opt"] * 6 == pytest.approx(a["compute"], rel=1e-9)


def test_allocate_passes_a_law_file_as_is(tmp_path, capsys):
    law = {"params": {"E": 1.7, "A": 400.0, "B": 400.0, "alpha": 0.34, "beta": 0.28}}
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(law))
    code, out, _ = _run(capsys, "allocate", "--compute", "1e23", "--law", str(path), "--format", "text")
    assert code == 0
    assert out.startswith("## Compute-optimal allocation") and str(path) in out
    expected = _closed_form_n_opt(law["params"], 1e23)
    assert f"{expected:.4g}" in out


def test_skill_install_copies_the_skill_documents(tmp_path, capsys):
    target = tmp_path / ".claude" / "skills" / "scaling-design"
    code, out, _ = _run(capsys, "skill", "install", "--target", str(target))
    assert code == 0
    assert (target / "SKILL.md").read_text() == skill_md_path().read_text()
    docs = procedure_docs()
    assert {d.kind for d in docs} == {"sops", "tactics"}
    for doc in docs:
        assert (target / doc.relative).read_text() == doc.read()
    assert len(out.strip().splitlines()) == 3 + len(docs)  # SKILL.md, the documents, LICENSE and NOTICE


def test_tools_lists_every_registered_tool(capsys):
    code, out, _ = _run(capsys, "tools")
    assert code == 0
    assert [line.split()[0] for line in out.strip().splitlines()] == list(TOOLS)
