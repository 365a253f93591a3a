"""fit_scaling_law and compute_optimal_allocation through their Input models."""
import numpy as np
import pytest
from pydantic import ValidationError

from scaling_design.analysis import compute_optimal_allocation as alloc_tool
from scaling_design.analysis import fit_scaling_law as fit_tool
from scaling_design.errors import InputError

from conftest import CHINCHILLA_CSV


def test_the_documented_example_fits_with_intervals_frontier_and_an_extrapolation_flag():
    out = fit_tool.run(fit_tool.Input.model_validate(fit_tool.EXAMPLE))
    assert out.converged and out.se_source == "bootstrap"
    assert out.intervals["alpha"].low < out.params["alpha"] < out.intervals["alpha"].high
    assert out.params["alpha"] == pytest.approx(0.348, abs=0.06)
    assert out.predictions[0].extrapolates and out.predictions[0].decades_beyond_data > 1
    assert len(out.frontier) == 3 and out.frontier[0].intervals is not None
    assert {e.resource for e in out.effects} == {"N", "D"}


def test_the_reference_csv_is_read_by_its_named_columns_not_its_plot_coordinates(chinchilla_240):
    out = fit_tool.run(fit_tool.Input(csv_path=str(CHINCHILLA_CSV)))
    assert out.n_runs == 245
    assert "D computed from C as C / (6N)" in out.notes
    assert out.converged and 1.8 < out.params["E"] < 2.0  # the loss column, not the plot's y


def test_a_results_template_with_runs_not_yet_done_is_fitted_on_the_finished_rows():
    rows = ["run_id,N,D,C,seed,loss"]
    rng = np.random.default_rng(0)
    for i, (n, t) in enumerate((n, t) for n in np.geomspace(5e7, 2e9, 5) for t in (5, 20, 80)):
        loss = 1.82 + 482 / n**0.348 + 2085 / (n * t) ** 0.366
        rows.append(f"r{i},{n},{n * t},{6 * n * n * t},0,{loss * np.exp(rng.normal(0, 0.003)):.6f}")
    rows += ["r98,1e10,2e11,1.2e22,0,", "r99,2e10,4e11,4.8e22,0,"]
    out = fit_tool.run(fit_tool.Input(csv_text="\n".join(rows)))
    assert out.n_runs == 15 and out.n_skipped == 2


def test_a_missing_loss_column_is_named():
    with pytest.raises(InputError, match=r"column 'loss' is missing"):
        fit_tool.run(fit_tool.Input(csv_text="N,D\n1e8,1e9\n2e8,2e9"))


def test_a_non_numeric_cell_is_named_with_its_row():
    with pytest.raises(InputError, match=r"N must be a number; got 'abc' in row 2"):
        fit_tool.run(fit_tool.Input(csv_text="N,D,loss\n1e8,1e9,3.1\nabc,2e9,3.0"))


def test_exactly_one_data_source_is_required():
    with pytest.raises(ValidationError, match="exactly one of runs, csv_path or csv_text"):
        fit_tool.Input(form="chinchilla")
    with pytest.raises(ValidationError, match="bootstrap"):
        fit_tool.Input(csv_text="x,loss\n1,2", bootstrap=20_000)


def test_allocation_for_the_gopher_budget_from_the_epoch_law():
    out = alloc_tool.run(alloc_tool.Input(compute=[5.76e23], law="epoch"))
    a = out.allocations[0]
    assert 6 * a.N_opt * a.D_opt == pytest.approx(5.76e23)
    assert 15 < a.tokens_per_param < 25
    assert out.allocation_exponents["a"] == pytest.approx(0.5126, abs=1e-3)


def test_allocation_from_a_fit_json_uses_its_parameters(tmp_path):
    fitted = fit_tool.run(fit_tool.Input.model_validate({**fit_tool.EXAMPLE, "bootstrap": 0}))
    path = tmp_path / "fit.json"
    path.write_text(fitted.model_dump_json())
    out = alloc_tool.run(alloc_tool.Input(compute=[1e22], law=str(path)))
    assert out.params == pytest.approx(fitted.params)


def test_unknown_law_names_what_is_accepted():
    with pytest.raises(InputError, match=r"law must be one of \['epoch', 'hoffmann'"):
        alloc_tool.run(alloc_tool.Input(compute=[1e22], law="gpt4"))


def test_the_output_carries_the_covariance_the_standard_errors_come_from():
    out = fit_tool.run(fit_tool.Input.model_validate(fit_tool.EXAMPLE))
    cov = np.array(out.covariance)
    assert cov.shape == (5, 5)
    se = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(se, [out.standard_errors[k] for k in out.params], rtol=1e-6)
