"""The most expensive valid input of each tool (the time-limit regression cases and the fuzz's hostile seeds)."""
from __future__ import annotations

import numpy as np

from scaling_design.analysis.fit_scaling_law import EXAMPLE as FIT_EXAMPLE


def runs_csv(n_runs: int, seed: int = 0) -> str:
    """A joint-law results CSV with n_runs noisy runs."""
    rng = np.random.default_rng(seed)
    n = 10 ** rng.uniform(7, 9.5, n_runs)
    d = n * 10 ** rng.uniform(0.5, 2.5, n_runs)
    loss = (1.8 + 480 / n ** 0.34 + 2000 / d ** 0.37) * np.exp(rng.normal(0, 0.01, n_runs))
    return "N,D,loss\n" + "\n".join(f"{float(a)!r},{float(b)!r},{float(c)!r}" for a, b, c in zip(n, d, loss))


def expensive_inputs(law_csv_path: str) -> dict[str, dict]:
    """Per tool: an input valid for its model whose work runs far past one second."""
    wide = [{"name": f"f{i}", "levels": [0.0, 1.0]} for i in range(30)]
    return {
        "sample_size_estimation": {"design_type": "fit_precision", "prior_law": "kaplan_n", "form": "power",
                                   "scale_min": 1e7, "scale_max": 1e9, "points": 6, "quantity": "parameter",
                                   "parameter": "alpha", "target_relative_error": 0.001, "max_replicates": 10,
                                   "n_sims": 2000},
        "design_matrix_construction": {"design": "latin_hypercube", "samples": 20000, "lhs_criterion": None,
                                       "factors": wide},
        "budget_constrained_design": {"budget": 5e20, "budget_unit": "flops", "scaling_type": "compute_optimal",
                                      "target": "loss", "target_N": 7e10, "target_D": 1.4e12, "n_min": 2e7,
                                      "n_max": 1e9, "n_count": 200, "tokens_per_param_count": 100,
                                      "monte_carlo_sims": 2000},
        "scaling_design": {"question": "How does loss scale with model size at 20B tokens?", "scaling_type": "model",
                           "budget_gpu_hours": 5000, "hardware": "H100", "fixed_tokens": 2e10,
                           "target_parameters": 7e9, "n_sims": 2000},
        "fit_scaling_law": {"form": "chinchilla", "csv_text": runs_csv(100_000), "bootstrap": 10000},
        "compute_optimal_allocation": {"compute": [1e21, 1e24], "law": law_csv_path, "bootstrap": 10000},
        "statistical_method_selection": {"task": "fit_scaling_law", "scaling_axes": "params_and_tokens",
                                         "runs": [dict(r, seed=0) for r in FIT_EXAMPLE["runs"]] * 100,
                                         "bootstrap": 10000},
    }
