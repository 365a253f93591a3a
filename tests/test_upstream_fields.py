"""Every upstream output field mapped in docs/upstream-fields.md exists in our tool's output schema."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from scaling_design.tools import get_tool

DOC = Path(__file__).resolve().parents[1] / "docs" / "upstream-fields.md"
ROW = re.compile(r"^\| ([a-z-]+) \| ([^|]+) \| (\w+) \| `([^`]+)`", re.M)


def _rows():
    return ROW.findall(DOC.read_text(encoding="utf-8"))


def _resolve(schema: dict, node: dict) -> list[dict]:
    """The object or array schemas a node stands for (through $ref and anyOf)."""
    if "$ref" in node:
        return _resolve(schema, schema["$defs"][node["$ref"].split("/")[-1]])
    if "anyOf" in node:
        return [n for alt in node["anyOf"] for n in _resolve(schema, alt)]
    return [node]


def _has(schema: dict, path: str) -> bool:
    nodes = [schema]
    for part in path.split("."):
        name, many = part.removesuffix("[]"), part.endswith("[]")
        found = []
        for node in (n for x in nodes for n in _resolve(schema, x)):
            if name in node.get("properties", {}):
                child = node["properties"][name]
                if many:
                    found += [n["items"] for n in _resolve(schema, child) if n.get("type") == "array"]
                else:
                    found.append(child)
        if not found:
            return False
        nodes = found
    return True


def test_the_table_maps_every_upstream_step():
    steps = {r[0] for r in _rows()}
    assert steps == {"factor-identification", "level-specification", "metric-specification", "sample-size-estimation",
                     "design-matrix-construction", "budget-constrained-design", "statistical-method-selection"}
    assert len(_rows()) >= 50


@pytest.mark.parametrize("step, field, tool, path", _rows(), ids=lambda v: v if "/" not in v else None)
def test_each_mapped_field_is_in_the_output_schema_of_its_tool(step, field, tool, path):
    assert tool.replace("_", "-") == step, f"{field}: {tool} is not the tool of {step}"
    schema = get_tool(tool).output_model.model_json_schema(mode="serialization")
    assert _has(schema, path), f"{step} {field!r}: `{path}` is not in {tool}'s output schema"


def test_factor_identification_gives_one_role_per_variable_and_the_standard_controls():
    out = get_tool("factor_identification").call({
        "question": "How does loss scale with model size and batch size?", "scaling_type": "custom",
        "axes": ["parameters", "batch_size"], "prior_work": ["Hoffmann 2022: alpha about 0.34"]})
    factors = {a.name for a in out.independent_variables}
    controls = {c.name for c in out.control_variables}
    assert "batch_size" in factors and not factors & controls
    assert "variable_in_two_roles" in [w.code for w in out.warnings]
    assert {"seed", "hardware", "software"} <= controls
    assert out.hypothesis.startswith("H1: ") and "H0: " in out.hypothesis
    assert out.prior_work == ["Hoffmann 2022: alpha about 0.34"]
    assert [(r.type, r.direction) for r in out.dependent_variables][0] == ("continuous", "lower_is_better")


def test_a_central_composite_design_counts_its_row_types_rotatability_and_centre_points():
    factors = [{"name": "lr", "levels": [1e-4, 1e-3]}, {"name": "wd", "levels": [0.0, 0.1]}]
    call = get_tool("design_matrix_construction").call
    rotatable = call({"factors": factors, "design": "central_composite", "ccd_alpha": "rotatable", "center_points": 3})
    p = rotatable.properties
    assert p.row_types == {"factorial": 4, "axial": 4, "center": p.center_points} and p.center_points >= 3
    assert p.rotatable is True and p.min_center_points == 3 and p.replicates_per_condition == 1
    bare = call({"factors": factors, "design": "central_composite"})
    assert bare.properties.rotatable is False and "few_center_points" in [w.code for w in bare.warnings]
    replicated = call({"factors": factors, "design": "full_factorial", "replicates": 3})
    assert replicated.properties.replicates_per_condition == 3 and replicated.properties.rotatable is None


def test_level_specification_notes_the_screening_rule_and_the_rounding_per_factor():
    call = get_tool("level_specification").call
    two = call({"scaling_type": "custom", "factors": [{"name": "lr", "minimum": 1e-4, "maximum": 1e-3, "num_levels": 2}]})
    assert any(n.startswith("2 levels: enough to screen") for n in two.factors[0].notes)
    shaped = call(get_tool("level_specification").example)
    assert any("from the ideal targets" in n for f in shaped.factors for n in f.notes if f.kind == "parameters")
