"""The global fitter: variable projection over a multi-start of the nonlinear parameters, then
a trust-region polish of all parameters on the true objective.

Why this shape: the joint law is badly conditioned in its five parameters, and a grid of full
5-D starts (Hoffmann's 4,500 L-BFGS runs) is slow and still fragile. For fixed exponents the
amplitudes (E, A, B) are linear, so each exponent start gets its exact non-negative
least-squares amplitudes (relative-error weighted for log objectives); the best starts are
then polished on the real objective with scipy's trust-region least squares, whose 'huber'
loss is exactly the summed Huber.

result    FitResult, OptimizerReport: what a fit returns
validate  validate_data: the checks made once, up front
starts    StartGrid: the grid and its basis, evaluated once per design
polish    Polisher: the objective in polish coordinates and the trust-region polish
fitter    fit, objective_value
assemble  covariance and diagnostics of a finished fit
warm      Refitter: many data sets on one design, warm-started (Monte Carlo, bootstrap)
"""
from .fitter import AGREE_RTOL, FIRST_STARTS, TOP_STARTS, fit, objective_value
from .polish import AMP_FLOOR, GRAD_TOL, Polisher
from .result import FitResult, OptimizerReport
from .starts import StartGrid
from .validate import VALUE_RANGE, validate_data
from .warm import GRID_KEEP, Refit, Refitter

__all__ = ["FitResult", "OptimizerReport", "fit", "validate_data", "objective_value", "Polisher",
           "StartGrid", "Refit", "Refitter", "GRID_KEEP", "TOP_STARTS", "FIRST_STARTS", "AGREE_RTOL", "GRAD_TOL",
           "AMP_FLOOR", "VALUE_RANGE"]
