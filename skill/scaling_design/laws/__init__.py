"""Pure numerics for scaling laws (numpy and scipy only; no I/O, no pydantic).

forms          law forms with parameter names, bounds and analytic Jacobians
objectives     Huber-log (summed), least squares on log loss, least squares on loss
fit            the global fitter (variable projection starts + trust-region polish)
bootstrap      cluster bootstrap over scales then seeds, percentile intervals
allocation     compute-optimal frontier for C = 6ND, resource-multiplier effects, the
               inference-aware optimum (Sardana 2024) and the data-constrained one (Muennighoff 2023)
simulate       noise models and Monte Carlo refits with the real fitter
optimal_design information matrices and cost-weighted V-optimal run selection
precision      closed forms for log-log slopes; compare: two-arm slope-vs-intercept tests
counting       parameters and FLOPs of a transformer shape; cost: FLOPs and GPU-hours
isoflop        approach 2 (a parabola per isoFLOP budget, power laws of the vertices) and its bias for a grid
downstream     two-step downstream prediction: a sigmoid of task loss, one bootstrap through both steps
batched_lm     Levenberg-Marquardt on many small least-squares problems at once (bootstrap refits)

The fitter is `laws.fit.fit` (`from scaling_design.laws.fit import fit`). Names below are
resolved on first use so that importing a light submodule (results, counting) does not
load scipy: the MCP server's start-up time depends on it.
"""
from importlib import import_module

_LAZY = {
    "FORMS": "forms", "LawForm": "forms", "form_names": "forms", "get_form": "forms",
    "Diagnostic": "results", "Interval": "results", "LawInputError": "results",
    "FitResult": "fit", "objective_value": "fit",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
