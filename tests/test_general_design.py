"""design_matrix_construction's row type column and study_kind on the design and sizing steps."""
import collections

import pytest
from pydantic import ValidationError

from scaling_design.sops import design_matrix_construction as dmc
from scaling_design.sops import level_specification as ls
from scaling_design.sops import sample_size_estimation as sse

TWO = [{"name": "lr", "levels": [1e-4, 1e-3]}, {"name": "wd", "levels": [0.0, 0.1]}]


def _types(out):
    return collections.Counter(r["row_type"] for r in out.runs)


def test_a_central_composite_run_table_types_every_row_and_the_counts_agree():
    out = dmc.run(dmc.Input(design="central_composite", factors=TWO, center_points=3))
    assert out.columns.index("row_type") == out.columns.index("seed") + 1
    assert _types(out) == {"factorial": 4, "axial": 4, "center": 6} == out.properties.row_types
    for r in out.runs:  # a centre row sits at the middle of both factors, an axial row off one axis only
        if r["row_type"] == "center":
            assert r["wd"] == pytest.approx(0.05)


def test_a_box_behnken_table_has_edge_and_center_rows():
    three = TWO + [{"name": "warmup", "levels": [100, 1000]}]
    out = dmc.run(dmc.Input(design="box_behnken", factors=three, center_points=3))
    assert _types(out) == {"edge": 12, "center": 3}
    assert {k: v for k, v in out.properties.row_types.items() if v} == {"edge": 12, "center": 3}


def test_added_center_points_are_center_rows_of_a_factorial_and_replicates_keep_their_type():
    out = dmc.run(dmc.Input(design="full_factorial", factors=TWO, center_points=2, replicates=2))
    assert _types(out) == {"factorial": 8, "center": 4}
    by_point = collections.defaultdict(set)
    for r in out.runs:
        by_point[r["point"]].add(r["row_type"])
    assert all(len(s) == 1 for s in by_point.values())
    assert "row_type" in out.csv.splitlines()[0].split(",")


def test_scaling_grids_carry_no_row_type():
    out = dmc.run(dmc.Input(**dmc.EXAMPLE))
    assert "row_type" not in out.columns


def test_a_general_study_is_built_with_a_classical_design_from_level_specification_labels():
    levels = ls.run(ls.Input(study_kind="general", factors=[
        {"name": "dropout", "minimum": 0.1, "maximum": 0.3, "spacing": "linear"},
        {"name": "optimizer", "factor_type": "categorical", "labels": ["adamw", "lion"]}]))
    factors = [{"name": f.name, "levels": f.levels} for f in levels.factors]
    out = dmc.run(dmc.Input(study_kind="general", factors=factors, replicates=5))
    assert out.design == "full_factorial" and out.n_runs == 3 * 2 * 5
    assert {r["optimizer"] for r in out.runs} == {"adamw", "lion"}
    with pytest.raises(ValidationError, match="`design` must be a classical design when study_kind is general"):
        dmc.Input(study_kind="general", design="isoflop")


def test_a_general_study_is_sized_by_a_classical_power_analysis_only():
    out = sse.run(sse.Input(study_kind="general", design_type="anova", k_groups=3, effect_size=0.4))
    assert out.result.min_per_group >= 2 and out.design_type == "anova"
    with pytest.raises(ValidationError, match="`design_type` must be one of"):
        sse.Input(study_kind="general", design_type="fit_precision")
