"""Design properties: orthogonality, balance, resolution, error degrees of freedom."""
from __future__ import annotations

import itertools
import string

import numpy as np

from ... import knowledge
from .classical import _alias_pattern, _resolution
from .models import CLASSICAL, DesignProperties, Input, MAX_ALIAS_FACTORS, StepWarning


# ---------------------------------------------------------------------------------------------
# properties

def _main_effect_columns(table: np.ndarray, numeric_coded: dict[int, np.ndarray]) -> list[tuple[int, np.ndarray]]:
    """Centred contrast columns per factor: the coded value for continuous factors, level indicators otherwise."""
    cols = []
    for j in range(table.shape[1]):
        if j in numeric_coded:
            cols.append((j, numeric_coded[j] - numeric_coded[j].mean()))
            continue
        labels = [repr(v) for v in table[:, j]]
        uniq = sorted(set(labels))
        for u in uniq[1:]:
            ind = np.array([1.0 if x == u else 0.0 for x in labels])
            cols.append((j, ind - ind.mean()))
    return cols


def _orthogonality(cols: list[tuple[int, np.ndarray]]) -> tuple[bool | None, float | None]:
    """Max |correlation| between main-effect columns of different factors.

    For a multi-level factor, orthogonality means its indicator space is uncorrelated with every other
    factor's; pairwise correlation of centred indicators is zero exactly when the two-way counts are
    proportional, which is the usual definition (proportional frequencies)."""
    worst = 0.0
    found = False
    for (a, x), (b, y) in itertools.combinations(cols, 2):
        if a == b:
            continue
        nx, ny = np.linalg.norm(x), np.linalg.norm(y)
        if nx == 0 or ny == 0:
            continue
        found = True
        worst = max(worst, abs(float(x @ y) / (nx * ny)))
    if not found:
        return None, None
    return worst < 1e-9, worst


def _balanced(table: np.ndarray) -> bool:
    for j in range(table.shape[1]):
        _, counts = np.unique([repr(v) for v in table[:, j]], return_counts=True)
        if counts.min() != counts.max():
            return False
    return True


MIN_CENTER_POINTS = 3  # Montgomery, Design and Analysis of Experiments, ch. 11: 3-5 centre points for a CCD


def row_types(inp: Input, info: dict, n_points: int, n_added_center: int) -> list[str] | None:
    """Type of each base point of a classical design: factorial (an orthogonal-array row for Plackett-Burman
    and Taguchi), axial (central composite), edge (Box-Behnken), space_filling (Latin hypercube) or center;
    None for scaling grids (no coded design)."""
    if inp.design not in CLASSICAL:
        return None
    coded = info.get("continuous")
    if inp.design in ("central_composite", "box_behnken") and coded is not None:
        nonzero = (np.abs(np.asarray(coded, dtype=float)) > 1e-12).sum(axis=1)
        k = np.asarray(coded).shape[1]
        side = "axial" if inp.design == "central_composite" else "edge"
        return ["center" if z == 0 else "factorial" if z == k else side for z in nonzero]
    body = "space_filling" if inp.design == "latin_hypercube" else "factorial"
    return [body] * (n_points - n_added_center) + ["center"] * n_added_center


def _surface_properties(inp: Input, info: dict, n: int, n_center: int, warnings: list[StepWarning]) -> dict:
    """Row types, rotatability and the centre-point minimum of response-surface designs."""
    coded = info.get("continuous")
    if inp.design not in ("central_composite", "box_behnken") or coded is None:
        return {"row_types": {"factorial": n - n_center, "center": n_center} if n_center else {}}
    nonzero = (np.abs(np.asarray(coded, dtype=float)) > 1e-12).sum(axis=1)
    k = np.asarray(coded).shape[1]
    types = {"factorial": int((nonzero == k).sum()), "center": int((nonzero == 0).sum())}
    types["axial" if inp.design == "central_composite" else "edge"] = int(((nonzero > 0) & (nonzero < k)).sum())
    centers = types["center"]
    if centers < MIN_CENTER_POINTS:
        warnings.append(StepWarning(code="few_center_points", severity="warning",
                                    message=f"{centers} centre points: a response-surface design needs at least "
                                            f"{MIN_CENTER_POINTS} for pure error and curvature (set center_points)"))
    rotatable = (inp.ccd_alpha == "rotatable" and inp.ccd_face != "faced") if inp.design == "central_composite" else None
    return {"row_types": types, "rotatable": rotatable, "min_center_points": MIN_CENTER_POINTS}


def _properties(inp: Input, base_values: list[list], names: list[str], info: dict, model: str, terms: int,
                rows: list[dict], point_keys: list[str], n_center: int,
                warnings: list[StepWarning]) -> DesignProperties:
    table = np.array(base_values, dtype=object)
    coded = info.get("coded")
    letters = string.ascii_uppercase[: len(names)] if coded is not None and len(names) <= 26 else ""
    resolution, defining, aliases, note = None, [], [], None
    numeric_coded = {}
    if info.get("continuous") is not None:
        numeric_coded = {j: info["continuous"][:, j] for j in range(len(names))}
    elif coded is not None:
        coded_all = info.get("coded_all", coded)
        numeric_coded = {j: coded_all[:, j].astype(float) for j in range(len(names))}
    cols = _main_effect_columns(table, numeric_coded)
    orthogonal, worst = _orthogonality(cols)
    if coded is not None and letters:
        resolution, words = _resolution(coded)
        if words is None:
            note = f"aliasing not computed for more than {MAX_ALIAS_FACTORS} factors"
        else:
            defining = ["I = " + "".join(letters[i] for i in w) for w in words]
            fraction = coded.shape[0] < 2 ** coded.shape[1]
            if fraction:
                aliases = _alias_pattern(coded)
            if fraction and not words:
                note = ("no complete aliasing: a non-regular fraction (Plackett-Burman) has partial aliasing; main "
                        "effects are partially aliased with two-factor interactions (resolution III-like)")
    meaning = None
    if resolution is not None:
        table_res = knowledge.load("designs")["resolution"]
        meaning = table_res.get(str(min(resolution, 5)))
        if resolution >= 5:
            meaning = table_res["5"] if resolution == 5 else f"{resolution}: main effects and two-factor " \
                                                              f"interactions are clear of each other"
    n = len(rows)
    counts: dict[tuple, int] = {}
    for r in rows:
        key = tuple(repr(r.get(c)) for c in point_keys)
        counts[key] = counts.get(key, 0) + 1
    pure = sum(c - 1 for c in counts.values())
    error_df = n - terms
    if error_df < 0:
        warnings.append(StepWarning(code="model_not_estimable", severity="warning",
                                    message=f"{n} runs cannot estimate the {model} model ({terms} terms): add runs "
                                            "or replicates"))
    elif error_df == 0:
        warnings.append(StepWarning(code="no_error_df", severity="warning",
                                    message=f"the {model} model ({terms} terms) is saturated by {n} runs: no degrees "
                                            "of freedom are left for error; add replicates or centre points"))
    extra = _surface_properties(inp, info, n, n_center, warnings)
    return DesignProperties(
        **extra, replicates_per_condition=min(counts.values()) if counts else None,
        orthogonal=orthogonal, max_abs_correlation=worst,
        balanced=_balanced(table[: len(table) - info.get("added_center", 0)]) if names else None,
        resolution=resolution, resolution_meaning=meaning, defining_relation=defining, alias_pattern=aliases,
        letters={name: letters[i] for i, name in enumerate(names)} if letters else {},
        aliasing_note=note, model=model, model_terms=terms, error_df=error_df, pure_error_df=pure,
        center_points=n_center, distinct_points=len(counts))
