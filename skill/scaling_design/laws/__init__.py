"""Pure numerics for scaling laws (numpy and scipy only; no I/O, no pydantic).

forms       law forms with parameter names, bounds and analytic Jacobians
objectives  Huber-log (summed), least squares on log loss, least squares on loss
fit         the global fitter (variable projection starts + trust-region polish)
bootstrap   cluster bootstrap over scales then seeds, percentile intervals
allocation  compute-optimal frontier for C = 6ND and resource-multiplier effects
simulate    noise models and Monte Carlo refits with the real fitter
counting    parameters and FLOPs of a transformer shape
cost        FLOPs and GPU-hours
"""
from .forms import FORMS, LawForm, form_names, get_form
from .results import Diagnostic, Interval, LawInputError
from .fit import FitResult, objective_value

__all__ = ["FORMS", "LawForm", "form_names", "get_form", "Diagnostic", "Interval", "LawInputError",
           "FitResult", "objective_value"]
# The fitter is laws.fit.fit (the submodule keeps its name: `from scaling_design.laws.fit import fit`).
