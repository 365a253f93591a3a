"""The steps that price runs share one reading of `hardware` and `mfu` (knowledge.accelerator)."""
import importlib

import pytest

from scaling_design import knowledge
from scaling_design.errors import InputError

PRICING_STEPS = ["sops.factor_identification", "sops.level_specification", "sops.design_matrix_construction",
                 "tactics.budget_constrained_design"]
QUICK = {"tactics.budget_constrained_design": {"monte_carlo_sims": 0}}


def _step(name):
    return importlib.import_module(f"scaling_design.{name}")


def test_the_accelerator_lookup_gives_the_peak_and_the_default_mfu_with_its_source():
    table = knowledge.defaults()
    assert knowledge.accelerator("h100", None) == (knowledge.hardware_peak("H100"), table["mfu"]["default"],
                                                   table["mfu"]["source"])
    assert knowledge.accelerator("A100", 0.3) == (knowledge.hardware_peak("A100"), 0.3, None)
    with pytest.raises(InputError, match=r"hardware must be one of \[.*'H100'.*\]; got 'abacus'") as info:
        knowledge.accelerator("abacus", None)
    assert info.value.field == "hardware"


@pytest.mark.parametrize("name", PRICING_STEPS)
def test_every_pricing_step_refuses_an_unknown_accelerator_naming_the_field(name):
    step = _step(name)
    with pytest.raises(InputError, match="hardware must be one of") as info:
        step.run(step.Input(**dict(step.EXAMPLE, **QUICK.get(name, {}), hardware="abacus")))
    assert info.value.field == "hardware"


@pytest.mark.parametrize("name", PRICING_STEPS)
def test_every_pricing_step_reports_the_default_mfu_with_its_source(name):
    step = _step(name)
    out = step.run(step.Input(**dict(step.EXAMPLE, **QUICK.get(name, {}))))
    row = knowledge.defaults()["mfu"]
    assert [(d.value, d.source) for d in out.defaults_used if d.name == "mfu"] == [(row["default"], row["source"])]
