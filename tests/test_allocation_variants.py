"""Inference-aware (Sardana et al. 2024) and data-constrained (Muennighoff et al. 2023) allocation:
the numerics against brute force and the papers' stated figures, and the tool and CLI inputs."""
import json

import numpy as np
import pytest

from scaling_design import knowledge
from scaling_design.analysis import compute_optimal_allocation as tool
from scaling_design.cli import main
from scaling_design.laws import allocation
from scaling_design.laws.forms import get_form

HOFFMANN = knowledge.published_law("hoffmann")["params"]
SARDANA = knowledge.published_law("sardana")["params"]
MUENNIGHOFF = knowledge.published_law("muennighoff")["params"]


def _brute_force_inference(p, target, T, n=400_001):
    E, A, B, alpha, beta = (p[k] for k in allocation.JOINT_ORDER)
    n_min = (A / (target - E)) ** (1 / alpha)
    N = np.geomspace(n_min * (1 + 1e-9), n_min * 1e4, n)
    D = (B / (target - E - A * N ** -alpha)) ** (1 / beta)
    i = np.argmin(6 * N * D + 2 * N * T)
    return N[i], D[i]


# -- inference-aware -------------------------------------------------------------------------------

@pytest.mark.parametrize("C", [1e20, 1e23, 1e26])
def test_zero_inference_tokens_gives_back_the_chinchilla_allocation(C):
    chin = allocation.compute_optimal(HOFFMANN, C)
    res = allocation.inference_optimal(HOFFMANN, chin["loss"], 0.0)
    assert float(res["N_opt"]) == pytest.approx(float(chin["N_opt"]), rel=1e-10)
    assert float(res["D_opt"]) == pytest.approx(float(chin["D_opt"]), rel=1e-10)
    assert float(res["savings"]) == pytest.approx(0.0, abs=1e-12)


def test_a_vanishing_inference_demand_tends_to_the_chinchilla_allocation():
    chin = allocation.compute_optimal(HOFFMANN, 1e23)
    res = allocation.inference_optimal(HOFFMANN, chin["loss"], 1e3)
    assert float(res["N_opt"]) == pytest.approx(float(chin["N_opt"]), rel=1e-6)


def test_inference_optimum_of_the_1e23_chinchilla_model_with_2e13_tokens_matches_brute_force():
    target = float(allocation.compute_optimal(HOFFMANN, 1e23)["loss"])
    res = allocation.inference_optimal(HOFFMANN, target, 2e13)
    N_bf, D_bf = _brute_force_inference(HOFFMANN, target, 2e13)
    assert float(res["N_opt"]) == pytest.approx(N_bf, rel=5e-3)
    assert float(res["D_opt"]) == pytest.approx(D_bf, rel=5e-3)
    assert float(allocation.joint_loss(HOFFMANN, res["N_opt"], res["D_opt"])) == pytest.approx(target, rel=1e-12)
    assert float(res["tokens_per_param"]) > 20 * 10    # far past the Chinchilla ratio, Llama-style


def test_more_inference_means_a_smaller_model_trained_on_more_tokens():
    target = float(allocation.compute_optimal(HOFFMANN, 1e23)["loss"])
    res = allocation.inference_optimal(HOFFMANN, target, np.array([0, 1e11, 1e12, 1e13, 1e14]))
    assert np.all(np.diff(res["N_opt"]) < 0) and np.all(np.diff(res["D_opt"]) > 0)
    assert np.all(np.diff(res["savings"]) > 0)


# Sardana et al. 2024, with the law they use (Hoffmann's, alpha = 0.336, beta = 0.283): each case is a
# Chinchilla-optimal model of size N_c ("N_c-Chinchilla quality") and T inference tokens.
@pytest.mark.parametrize("N_c, T, stated", [
    (13e9, 2e12, {"N_opt": 7e9, "flops_saved": 1.7e22}),                     # figure 1
    (7e9, 1e11, {"N_opt": 6e9, "data_ratio": 1.18}),                          # section 2
    (30e9, 1e13, {"N_opt": 13.6e9, "data_ratio": 2.84, "savings": 0.28}),     # section 2
    (70e9, 1e13, {"D_chinchilla": 4.26e12, "N_opt": 41.6e9, "D_opt": 7.92e12, "savings": 0.12}),  # app. B.1, table 2
])
def test_sardana_et_al_figures_are_reproduced_within_2_percent(N_c, T, stated):
    C = allocation.compute_for_optimal_size(SARDANA, N_c)
    chin = allocation.compute_optimal(SARDANA, C)
    res = {k: float(v) for k, v in allocation.inference_optimal(SARDANA, chin["loss"], T).items()}
    got = {"N_opt": res["N_opt"], "D_opt": res["D_opt"], "D_chinchilla": res["D_chinchilla"],
           "data_ratio": res["D_opt"] / res["D_chinchilla"], "savings": res["savings"],
           "flops_saved": res["total_flops_chinchilla"] - res["total_flops"]}
    for key, value in stated.items():
        assert got[key] == pytest.approx(value, rel=0.02), key


def test_the_13b_case_saves_the_17_percent_of_sardana_figure_1():
    C = allocation.compute_for_optimal_size(SARDANA, 13e9)
    res = allocation.inference_optimal(SARDANA, allocation.compute_optimal(SARDANA, C)["loss"], 2e12)
    assert round(100 * float(res["savings"])) == 17   # the paper states it to the percent


def test_an_unreachable_target_loss_is_refused():
    with pytest.raises(ValueError, match="target loss must exceed"):
        allocation.inference_optimal(HOFFMANN, 1.5, 1e12)


# -- data-constrained ------------------------------------------------------------------------------

def test_the_published_law_reproduces_muennighoffs_reference_losses():
    # The authors' repository (huggingface/datablations, README "Parametric Fit") prints these.
    assert float(allocation.data_constrained_loss(MUENNIGHOFF, 6.34e9, 242e9, 25e9)) == pytest.approx(2.2256440889984477, rel=1e-9)
    assert float(allocation.data_constrained_loss(MUENNIGHOFF, 8.67e9, 178e9, 25e9)) == pytest.approx(2.2269634075087867, rel=1e-9)


def test_muennighoffs_published_optimum_is_reproduced_within_2_percent():
    # Same README: for the compute of 8.67B parameters x 178B tokens with 25B unique tokens,
    # "227B tokens, 9.1 epochs, 6.8B parameters".
    res = allocation.data_constrained_optimal(MUENNIGHOFF, 6 * 8.67e9 * 178e9, 25e9)
    assert float(res["D_opt"]) == pytest.approx(227e9, rel=0.02)
    assert float(res["epochs"]) == pytest.approx(9.1, rel=0.02)
    assert float(res["N_opt"]) == pytest.approx(6.8e9, rel=0.02)


@pytest.mark.parametrize("C, U", [(9.26e21, 25e9), (1e21, 1e9), (1e23, 1e11), (1e24, 1e13), (1e19, 1e8)])
def test_data_constrained_optimum_matches_a_brute_force_search(C, U):
    res = allocation.data_constrained_optimal(MUENNIGHOFF, C, U)
    N = np.geomspace(1e6, 1e14, 400_001)
    loss = allocation.data_constrained_loss(MUENNIGHOFF, N, C / (6 * N), U)
    i = np.argmin(loss)
    assert float(res["N_opt"]) == pytest.approx(N[i], rel=5e-3)
    assert float(res["D_opt"]) == pytest.approx(C / (6 * N[i]), rel=5e-3)
    assert float(res["loss"]) <= loss[i] + 1e-12


def test_plentiful_unique_tokens_give_back_the_base_laws_compute_optimum():
    res = allocation.data_constrained_optimal(MUENNIGHOFF, 1e22, 1e15)
    assert float(res["N_opt"]) == pytest.approx(float(res["N_chinchilla"]), rel=1e-4)
    assert float(res["loss"]) == pytest.approx(float(res["loss_unconstrained"]), rel=1e-9)


def test_with_the_fitted_forms_rule_the_loss_is_the_registry_forms_prediction():
    X = np.array([[1e9, 5e10, 1e10], [3e9, 2e11, 2e10], [1e8, 1e9, 5e9]])
    form = get_form("data_constrained")
    assert np.allclose(allocation.data_constrained_loss(MUENNIGHOFF, X[:, 0], X[:, 1], X[:, 2], 20.0),
                       form.predict(MUENNIGHOFF, X), rtol=1e-12)


# -- the tool and the CLI --------------------------------------------------------------------------

def test_the_tool_reports_the_inference_aware_optimum_beside_each_budget():
    out = tool.run(tool.Input(compute=[1e23], law="hoffmann", inference_tokens=2e13))
    row = out.allocations[0]
    assert row.inference_aware.N_opt < row.N_opt and row.inference_aware.tokens_per_param > 20
    assert row.inference_aware.target_loss == pytest.approx(row.loss, rel=1e-12)


def test_the_tool_allocates_the_published_data_constrained_law():
    out = tool.run(tool.Input(compute=[6 * 8.67e9 * 178e9], law="muennighoff", unique_tokens=25e9))
    dc = out.allocations[0].data_constrained
    assert dc.N_opt == pytest.approx(6.8e9, rel=0.02) and dc.epochs == pytest.approx(9.1, rel=0.02)
    assert any(w["code"] == "many_epochs" for w in out.warnings)


def test_a_fitted_data_constrained_law_from_a_json_file_is_allocatable(tmp_path):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({"form": "data_constrained", "params": MUENNIGHOFF}))
    out = tool.run(tool.Input(compute=[1e22], law=str(path), unique_tokens=1e10))
    expected = allocation.data_constrained_optimal(MUENNIGHOFF, 1e22, 1e10, 20.0)
    assert out.allocations[0].data_constrained.N_opt == pytest.approx(float(expected["N_opt"]), rel=1e-9)
    assert out.allocations[0].data_constrained.u_n_tokens_per_param == 20.0


def test_a_joint_law_with_unique_tokens_borrows_muennighoffs_decay_constants_with_a_warning():
    out = tool.run(tool.Input(compute=[1e23], law="epoch", unique_tokens=1e11))
    assert any(w["code"] == "decay_constants_borrowed" for w in out.warnings)
    assert out.allocations[0].data_constrained.R_D == pytest.approx(MUENNIGHOFF["R_D"])


def test_both_variants_at_once_are_refused_naming_both_fields():
    with pytest.raises(ValueError, match="inference_tokens.*unique_tokens"):
        tool.Input(compute=[1e23], inference_tokens=1e12, unique_tokens=1e10)


def test_negative_inference_tokens_are_refused_naming_the_field(capsys):
    assert main(["allocate", "--compute", "1e23", "--inference-tokens", "-1"]) == 2
    assert "inference_tokens" in capsys.readouterr().err


def test_cli_allocate_takes_inference_and_unique_tokens(capsys):
    assert main(["allocate", "--compute", "1e23", "--law", "hoffmann", "--inference-tokens", "2e13"]) == 0
    row = json.loads(capsys.readouterr().out)["allocations"][0]
    assert row["inference_aware"]["tokens_per_param"] > 200
    assert main(["allocate", "--compute", "1e22", "--law", "muennighoff", "--unique-tokens", "1e10", "--format", "text"]) == 0
    assert "Data-constrained allocation" in capsys.readouterr().out


def test_cli_allocate_writes_the_figure(tmp_path, capsys):
    folder = tmp_path / "figs"
    assert main(["allocate", "--compute", "1e23", "--law", "sardana", "--inference-tokens", "2e12",
                 "--plots", str(folder)]) == 0
    assert (folder / "allocation.png").stat().st_size > 10_000
    assert main(["allocate", "--compute", "1e22", "--law", "muennighoff", "--unique-tokens", "1e10",
                 "--plots", str(tmp_path / "dc")]) == 0
    assert (tmp_path / "dc" / "allocation.png").stat().st_size > 10_000


def test_a_law_with_bootstrap_replicates_gives_intervals_around_both_variants(tmp_path):
    rng = np.random.default_rng(0)
    base = np.array([HOFFMANN[k] for k in allocation.JOINT_ORDER])
    reps = base * np.exp(rng.normal(0, [0.005, 0.02, 0.02, 0.01, 0.01], (200, 5)))
    path = tmp_path / "fit.json"
    path.write_text(json.dumps({"form": "chinchilla", "params": HOFFMANN, "bootstrap": {"replicates": reps.tolist()}}))
    inf = tool.run(tool.Input(compute=[1e23], law=str(path), inference_tokens=2e13)).allocations[0].inference_aware
    assert inf.intervals["N_opt"].low < inf.N_opt < inf.intervals["N_opt"].high
    dc_reps = np.column_stack([reps, np.full(200, MUENNIGHOFF["R_D"]), np.full(200, MUENNIGHOFF["R_N"])])
    path.write_text(json.dumps({"form": "data_constrained", "params": {**HOFFMANN, "R_D": MUENNIGHOFF["R_D"],
                                "R_N": MUENNIGHOFF["R_N"]}, "bootstrap": {"replicates": dc_reps.tolist()}}))
    dc = tool.run(tool.Input(compute=[1e23], law=str(path), unique_tokens=1e11)).allocations[0].data_constrained
    assert dc.intervals["N_opt"].low < dc.N_opt < dc.intervals["N_opt"].high


def test_a_data_constrained_law_fitted_to_runs_recovers_the_true_optimum(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lines = ["N,D,U,loss"]
    for N in np.geomspace(1e8, 3e9, 5):
        for tpp in (5, 20, 80):
            for epochs in (1, 4, 16):
                D = N * tpp
                loss = float(allocation.data_constrained_loss(MUENNIGHOFF, N, D, D / epochs, 20.0)) * np.exp(rng.normal(0, 0.003))
                lines.append(f"{N},{D},{D / epochs},{loss}")
    runs = tmp_path / "runs.csv"
    runs.write_text("\n".join(lines) + "\n")
    assert main(["fit", str(runs), "--form", "data_constrained"]) == 0
    fit_json = tmp_path / "fit.json"
    fit_json.write_text(capsys.readouterr().out)
    got = tool.run(tool.Input(compute=[1e22], law=str(fit_json), unique_tokens=1e10)).allocations[0].data_constrained
    truth = allocation.data_constrained_optimal(MUENNIGHOFF, 1e22, 1e10, 20.0)
    assert got.N_opt == pytest.approx(float(truth["N_opt"]), rel=0.08)
    assert got.epochs == pytest.approx(float(truth["epochs"]), rel=0.08)


def test_too_few_unique_tokens_for_the_compute_is_said_to_leave_no_optimum():
    out = tool.run(tool.Input(compute=[1e23], law="muennighoff", unique_tokens=1e6))
    assert "optimum_not_defined" in {w["code"] for w in out.warnings}
