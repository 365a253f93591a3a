"""statistical_method_selection: which test or fitting procedure, with its configuration.

Three tasks:
- compare_conditions: the decision table of classical comparisons (knowledge/statistics.toml)
  walked from a description of the data (groups, pairing, normality, runs), with the
  reason for every branch, the follow-up test, the multiplicity correction and the
  interval; optionally a power check through sample_size_estimation.
- fit_scaling_law: the law form, objective, intervals and form-selection procedure for
  scaling data, returned as `fit_config`, which fit_scaling_law accepts as is.
- compare_arms: two arms on one scaling axis (e.g. two architectures): shared vs separate
  exponents, the slope and intercept tests and the exponent difference with an interval;
  run on the data when it is given.
"""
from __future__ import annotations

from .models import Input, Output
from .procedure import DESCRIPTION, EXAMPLE, run

__all__ = ["Input", "Output", "run", "DESCRIPTION", "EXAMPLE"]
