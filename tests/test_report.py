"""Markdown reports: the filters, the sandbox, one section per step, the fit and allocation reports."""
from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from scaling_design.report import (TEMPLATE_DIR, cell, environment, has_template, num, pct, render_allocation,
                                   render_fit, render_plan, render_step)
from scaling_design.tools import TOOLS

# Steps whose examples run in well under a second.
QUICK = ["factor_identification", "level_specification", "metric_specification", "design_matrix_construction",
         "statistical_method_selection", "compute_optimal_allocation"]


@pytest.mark.parametrize("value, shown", [(1.23456e9, "1.235e+09"), (0.347312, "0.3473"), (512, "512"),
                                          (2e-05, "2e-05"), (None, "n/a"), ("epoch", "epoch"),
                                          (float("inf"), "inf"), (True, "True")])
def test_num_shows_four_significant_digits(value, shown):
    assert num(value) == shown


@pytest.mark.parametrize("value, shown", [(0.123, "12.3%"), (1.0, "100%"), (0.0512, "5.12%"), (None, "n/a")])
def test_pct_shows_a_fraction_as_a_percentage(value, shown):
    assert pct(value) == shown


def test_cell_keeps_a_markdown_table_row_intact():
    assert cell("a|b\nc") == "a\\|b c"


def test_the_environment_is_sandboxed_and_does_not_escape_markdown():
    env = environment()
    with pytest.raises(SecurityError):
        env.from_string("{{ x.__class__.__mro__[1].__subclasses__() }}").render(x="")
    assert env.from_string("{{ x }}").render(x="<b> & *") == "<b> & *"


@pytest.mark.parametrize("name", QUICK)
def test_each_step_renders_one_section_that_starts_with_its_title(name):
    spec = TOOLS[name]
    assert has_template(name), f"templates/{name}.md.j2 is missing"
    text = render_step(name, spec.call(spec.example))
    assert text.startswith("## ")
    assert "{{" not in text and "{%" not in text
    assert "\n\n\n" not in text


def test_user_text_is_data_never_a_template():
    spec = TOOLS["compute_optimal_allocation"]
    out = spec.call(spec.example).model_dump(mode="json")
    out["law"] = "{{ 7 * 7 }}{% for x in range(3) %}x{% endfor %}"
    text = render_allocation(out)
    assert "{{ 7 * 7 }}{% for x in range(3) %}x{% endfor %}" in text and "49" not in text


def test_a_step_without_a_template_gets_every_field_in_the_generic_section():
    text = render_step("some_new_step", {"n_runs": 12, "total_flops": 1.23456e21, "levels": [1, 2],
                                         "warnings": [{"code": "c1", "severity": "warning", "message": "m|1"}]})
    assert text.startswith("## Some new step")
    assert "| n_runs | 12 |" in text and "| total_flops | 1.235e+21 |" in text and "`c1`" in text


def test_the_fit_report_has_parameters_intervals_predictions_and_diagnostics():
    spec = TOOLS["fit_scaling_law"]
    out = spec.call({**spec.example, "bootstrap": 50})
    text = render_fit(out)
    assert text.startswith("## Fitted scaling law")
    for name, value in out.params.items():
        assert f"| {name} | {num(value)} |" in text
    assert "### Predictions" in text and "decades beyond the data" in text
    assert "### Compute-optimal frontier" in text
    for w in out.warnings:
        assert f"`{w.code}`" in text


def test_the_allocation_report_lists_each_budget():
    spec = TOOLS["compute_optimal_allocation"]
    out = spec.call({"compute": [1e21, 1e24]})
    text = render_allocation(out)
    assert text.startswith("## Compute-optimal allocation")
    for a in out.allocations:
        assert f"| {num(a.compute)} | {num(a.N_opt)} |" in text


def test_the_plan_report_places_a_section_per_step_between_the_checks_and_the_next_steps():
    from scaling_design.strategy import EXAMPLE, STEP_ORDER, run

    plan = run(TOOLS["scaling_design"].input_model(**{**EXAMPLE, "n_sims": 20}))
    text = render_plan(plan)
    assert text == plan.report_markdown
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    steps = [render_step(name, getattr(plan, name)).splitlines()[0] for name in STEP_ORDER]
    assert headings[:3] == ["## Plan at a glance", "## Consistency checks", "## Final run table"]
    assert headings[3:3 + len(steps)] == steps
    assert headings[-1] == "## Next steps"


def test_every_template_compiles():
    env = environment()
    for path in TEMPLATE_DIR.glob("*.md.j2"):
        env.get_template(path.name)
