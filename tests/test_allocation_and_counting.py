"""Closed forms: the compute-optimal frontier, resource effects, parameter and FLOP counts."""
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from scaling_design.laws import allocation
from scaling_design.laws.counting import (TransformerShape, count_params, flops_per_token_deepseek,
                                          flops_per_token_6n)
from scaling_design.laws.cost import gpu_hours

EPOCH = {"E": 1.817, "A": 482.01, "B": 2085.43, "alpha": 0.348, "beta": 0.366}


@pytest.mark.parametrize("C", [1e19, 5.76e23, 1e26])
def test_closed_form_optimum_matches_a_numerical_minimisation_along_the_isoflop(C):
    opt = allocation.compute_optimal(EPOCH, C)
    res = minimize_scalar(lambda logn: allocation.joint_loss(EPOCH, np.exp(logn), C / (6 * np.exp(logn))),
                          bounds=(np.log(1e6), np.log(1e14)), method="bounded", options={"xatol": 1e-10})
    assert float(opt["N_opt"]) == pytest.approx(np.exp(res.x), rel=1e-4)
    assert 6 * float(opt["N_opt"]) * float(opt["D_opt"]) == pytest.approx(C, rel=1e-12)


def test_epoch_law_gives_about_20_tokens_per_parameter_and_exponent_0513():
    exps = allocation.allocation_exponents(EPOCH)
    assert float(exps["a"]) == pytest.approx(0.513, abs=1e-3)
    tpp = float(allocation.compute_optimal(EPOCH, 1e23)["tokens_per_param"])
    assert 15 < tpp < 25


def test_frontier_broadcasts_over_bootstrap_replicates():
    reps = np.array([[1.8, 480, 2000, 0.34, 0.36], [1.85, 500, 2100, 0.35, 0.37]])
    out = allocation.compute_optimal(reps, np.array([1e21, 1e22])[:, None])
    assert out["N_opt"].shape == (2, 2)


def test_doubling_data_effect_is_the_power_law_ratio_of_the_reducible_part():
    N, D = 1e9, 2e10
    eff = allocation.resource_effect({"E": 0.0, "A": 0.0, "B": 10.0, "alpha": 0.3, "beta": 0.095}, N, D, "D", 2.0)
    assert float(eff["relative_change"]) == pytest.approx(2 ** -0.095 - 1, rel=1e-12)


def test_gpt2_small_shape_counts_124m_parameters_with_embeddings():
    shape = TransformerShape(n_layer=12, d_model=768, n_heads=12, vocab_size=50257, seq_len=1024,
                             learned_positions=True, biases=True, tied_embeddings=True)
    count = count_params(shape)
    assert count.total == 124_439_808  # the published GPT-2 small count
    assert count.non_embedding == pytest.approx(12 * 12 * 768**2, rel=0.01)


def test_llama_style_gqa_and_gated_mlp_are_counted_exactly():
    shape = TransformerShape(n_layer=32, d_model=4096, n_heads=32, n_kv_heads=8, d_ff=14336, vocab_size=128256,
                             gated=True, tied_embeddings=False)
    count = count_params(shape)
    # Llama 3 8B: 8.03e9 parameters (RMSNorm has no shift, so our LayerNorm count is 2d per norm higher)
    assert count.total == pytest.approx(8.03e9, rel=0.005)


def test_deepseek_flops_per_token_include_attention():
    L, d, s = 24, 2048, 4096
    m = flops_per_token_deepseek(L, d, s)
    assert m == 72 * L * d**2 + 12 * L * d * s
    assert m > flops_per_token_6n(12 * L * d**2)


def test_gpu_hours_follow_peak_and_mfu():
    assert float(gpu_hours(989e12 * 0.4 * 3600, 989e12, 0.4)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mfu must be in"):
        gpu_hours(1e20, 989e12, 1.5)
