"""Classical designs (pyDOE3): the coded matrix, its resolution and aliasing, and level values."""
from __future__ import annotations

import itertools
import re
import string
from typing import Any

import numpy as np

from ...errors import InputError
from ...limits import check_cap
from .models import FactorLevels, Input, Level, MAX_ALIAS_FACTORS, MAX_RUNS, NamedValue, StepWarning, _pydoe3

PAIRWISE_CRITERIA = ("maximin", "centermaximin", "correlation")  # pyDOE3 compares every pair of points (or columns)
MAX_LHS_PAIRWISE = 2000  # samples for those criteria: 2,000 points are 2 million pairs per iteration


# ---------------------------------------------------------------------------------------------
# classical designs (pyDOE3) -> coded matrix and level values

def _log_scale(f: FactorLevels) -> bool:
    if f.log_scale is not None:
        return f.log_scale and f.numeric and min(f.levels) > 0
    return f.numeric and min(f.levels) > 0 and max(f.levels) / min(f.levels) >= 10


def _two_levels(f: FactorLevels, warnings: list[StepWarning]) -> list[Level]:
    if len(f.levels) == 2:
        return list(f.levels)
    if len(f.levels) < 2:
        raise InputError("factors", f"factors: {f.name!r} needs 2 levels for a two-level design; got {f.levels!r}")
    if not f.numeric:
        raise InputError("factors", f"factors: {f.name!r} has {len(f.levels)} categorical levels; a two-level design "
                                    f"needs exactly 2 (or use full_factorial or taguchi)")
    low, high = min(f.levels), max(f.levels)
    warnings.append(StepWarning(code="levels_reduced_to_extremes", severity="info",
                                message=f"{f.name}: a two-level design uses the lowest and highest of "
                                        f"{len(f.levels)} levels ({low!r}, {high!r})"))
    return [low, high]


def _coded_to_value(f: FactorLevels, coded: np.ndarray, low_high: tuple[float, float] | None = None) -> np.ndarray:
    """Map coded values (-1 low, +1 high, 0 centre, beyond for axial points) to the factor's units."""
    low, high = low_high or (min(f.levels), max(f.levels))
    if _log_scale(f):
        mid, half = (np.log(low) + np.log(high)) / 2, (np.log(high) - np.log(low)) / 2
        return np.exp(mid + coded * half)
    mid, half = (low + high) / 2, (high - low) / 2
    return mid + coded * half


def _parse_generators(text: str, k_names: list[str]) -> str:
    """Turn 'D = ABC; E = AB' into pyDOE3's 'a b c abc ab'; pass pyDOE3 strings through (lower-cased)."""
    if "=" not in text:
        return " ".join(text.lower().split())
    letters = string.ascii_lowercase
    relations = [r for r in re.split(r"[;,]", text) if r.strip()]
    generated = {}
    for rel in relations:
        left, right = (s.strip().lower() for s in rel.split("=", 1))
        if len(left) != 1 or not right.isalpha():
            raise InputError("generators", f"generators: each relation must read like 'D = ABC'; got {rel.strip()!r}")
        generated[left] = right
    k = len(k_names)
    base = [c for c in letters[:k] if c not in generated]
    return " ".join(generated.get(c, c) for c in letters[:k]) if base else ""


def _fractional(k: int, inp: Input, defaults: list[NamedValue]) -> np.ndarray:
    if inp.generators:
        gen = _parse_generators(inp.generators, [str(i) for i in range(k)])
        if len(gen.split()) != k:
            raise InputError("generators", f"generators must define {k} columns (one per factor); got "
                                           f"{len(gen.split())} from {inp.generators!r}")
        n_base = len({c for token in gen.split() for c in token.lstrip("+-")})
        check_cap("generators", 2 ** min(n_base, 62), MAX_RUNS, f"a fractional factorial on {n_base} base factors' runs",
                  "use generators with fewer base factors", "max_runs")
        try:
            return _pydoe3().fracfact(gen)
        except ValueError as exc:
            raise InputError("generators", f"generators: {exc}; got {inp.generators!r}") from None
    resolution = inp.resolution or 4
    if inp.resolution is None:
        defaults.append(NamedValue(name="resolution", value=4, source="main effects clear of two-factor interactions "
                                                                      "(designs.toml, resolution)"))
    return _fraction_by_resolution(k, resolution)


def _fraction_by_resolution(k: int, resolution: int) -> np.ndarray:
    """Fewest runs with at least the asked resolution: pyDOE3's fracfact_by_res, else its generator search."""
    try:
        return _pydoe3().fracfact_by_res(k, resolution)
    except ValueError:
        pass  # pyDOE3 misses some fractions (e.g. 2^(4-1) IV, generator abc); search generators instead
    for n_erased in range(k - 1, 0, -1) if k <= 10 else ():  # the generator search is exhaustive: keep it small
        if 2 ** (k - n_erased) <= k:
            continue
        try:
            gen, _, _ = _pydoe3().fracfact_opt(k, n_erased, max_attempts=5000)
        except ValueError:
            continue
        if gen is None:
            continue
        design = _pydoe3().fracfact(gen)
        if _resolution(design)[0] >= resolution:
            return design
    if k <= 15:
        return _pydoe3().ff2n(k)
    raise InputError("resolution", f"resolution {resolution} for {k} factors is not reachable with at most 2^15 runs")


def _words_of_identity(coded: np.ndarray, max_factors: int = MAX_ALIAS_FACTORS) -> list[tuple[int, ...]] | None:
    k = coded.shape[1]
    if k > max_factors:
        return None
    words = []
    for size in range(1, k + 1):
        for combo in itertools.combinations(range(k), size):
            col = np.prod(coded[:, combo], axis=1)
            if np.all(col == col[0]):
                words.append(combo)
    return words


def _resolution(coded: np.ndarray) -> tuple[int | None, list[tuple[int, ...]] | None]:
    words = _words_of_identity(coded)
    if words is None:
        return None, None
    return (min(len(w) for w in words) if words else None), words


def _alias_pattern(coded: np.ndarray) -> list[str]:
    """pyDOE3's alias map, upper-cased; chains holding a main effect or two-factor interaction first."""
    alias_map, _ = _pydoe3().fracfact_aliasing(coded)
    chains = []
    for chain in alias_map:
        terms = [t.strip() for t in chain.split("=")]
        if len(terms) < 2:
            continue
        chains.append(" = ".join(t.upper() for t in terms))
    low_order = [c for c in chains if len(c.split(" = ")[0]) <= 2]
    return low_order + [c for c in chains if c not in low_order]


def _taguchi(factors: list[FactorLevels], name: str | None, defaults: list[NamedValue]) -> np.ndarray:
    need = [len(f.levels) for f in factors]
    arrays = _pydoe3().list_orthogonal_arrays()
    if name is not None and name not in arrays:
        raise InputError("taguchi_array", f"taguchi_array must be one of {arrays}; got {name!r}")
    candidates = [name] if name else sorted(arrays, key=lambda a: int(a[1:a.index("(")]))
    for oa in candidates:
        columns = _oa_columns(oa)
        assignment = _assign_columns(need, columns)
        if assignment is None:
            continue
        if name is None:
            defaults.append(NamedValue(name="taguchi_array", value=oa, source="smallest pyDOE3 orthogonal array "
                                                                               "that holds every factor's levels"))
        table = _pydoe3().get_orthogonal_array(oa)
        return table[:, assignment]
    raise InputError("taguchi_array", f"no orthogonal array in {arrays if name is None else [name]} holds factors "
                                      f"with {need} levels; use full_factorial or fewer levels")


def _oa_columns(oa: str) -> list[int]:
    spec = oa[oa.index("(") + 1:-1]
    cols = []
    for part in spec.split():
        levels, count = part.split("^")
        cols += [int(levels)] * int(count)
    return cols


def _assign_columns(need: list[int], columns: list[int]) -> list[int] | None:
    free = list(range(len(columns)))
    chosen = []
    for n in need:
        match = next((c for c in free if columns[c] == n), None)
        if match is None:
            return None
        chosen.append(match)
        free.remove(match)
    return chosen


def _classical(inp: Input, warnings: list[StepWarning], defaults: list[NamedValue]):
    """Return (values per factor (n, k) object array, coded (n, k) float, levels used, model, terms, info)."""
    factors = inp.factors
    k = len(factors)
    if k == 0:
        raise InputError("factors", f"factors must list at least one factor for design {inp.design!r}; got none "
                                    "(call level_specification first, or pass {name: [levels]})")
    info: dict[str, Any] = {"two_level": False}
    design = inp.design
    if design in ("central_composite", "box_behnken", "latin_hypercube"):
        non_numeric = [f.name for f in factors if not f.numeric or len(f.levels) < 2]
        if non_numeric:
            raise InputError("factors", f"factors {non_numeric} must be numeric with at least 2 levels (low, high) "
                                        f"for {design}")
    if design == "full_factorial":
        idx = _pydoe3().fullfact([len(f.levels) for f in factors]).astype(int)
        values = [[factors[j].levels[i] for j, i in enumerate(row)] for row in idx]
        return _pack(values, idx, factors, "main effects", 1 + sum(len(f.levels) - 1 for f in factors), info)
    if design in ("fractional_factorial", "plackett_burman"):
        two = [_two_levels(f, warnings) for f in factors]
        if design == "fractional_factorial":
            if k < 3:
                raise InputError("factors", f"a fractional factorial needs at least 3 factors; got {k} (use full_factorial)")
            coded = _fractional(k, inp, defaults)
        else:
            if k < 2:
                raise InputError("factors", f"Plackett-Burman needs at least 2 factors; got {k}")
            coded = _pydoe3().pbdesign(k)
        info["two_level"] = True
        values = [[two[j][0] if c < 0 else two[j][1] for j, c in enumerate(row)] for row in coded]
        levels_used = {f.name: two[j] for j, f in enumerate(factors)}
        return _pack(values, (coded > 0).astype(int), factors, "main effects", 1 + k, info, coded, levels_used)
    if design == "central_composite":
        if k < 2:
            raise InputError("factors", f"a central composite design needs at least 2 numeric factors; got {k}")
        alpha = "orthogonal" if inp.ccd_alpha == "orthogonal" else "rotatable"
        coded = _pydoe3().ccdesign(k, center=(inp.center_points, inp.center_points), alpha=alpha, face=inp.ccd_face)
        return _continuous(coded, factors, "full quadratic", 1 + 2 * k + k * (k - 1) // 2, info)
    if design == "box_behnken":
        if k < 3:
            raise InputError("factors", f"a Box-Behnken design needs at least 3 numeric factors; got {k}")
        coded = _pydoe3().bbdesign(k, center=inp.center_points if inp.center_points else None)
        return _continuous(coded, factors, "full quadratic", 1 + 2 * k + k * (k - 1) // 2, info)
    if design == "latin_hypercube":
        samples = inp.samples or 10 * k
        if inp.samples is None:
            defaults.append(NamedValue(name="samples", value=samples, source="10 points per factor (Loeppky, Sacks "
                                                                             "and Welch 2009 rule of thumb)"))
        unit = _pydoe3().lhs(k, samples=samples, criterion=inp.lhs_criterion, seed=inp.seed)
        return _continuous(2 * unit - 1, factors, "linear", 1 + k, info)
    idx = _taguchi(factors, inp.taguchi_array, defaults).astype(int)
    values = [[factors[j].levels[i] for j, i in enumerate(row)] for row in idx]
    return _pack(values, idx, factors, "main effects", 1 + sum(len(f.levels) - 1 for f in factors), info)


def _pack(values, index, factors, model, terms, info, coded=None, levels_used=None):
    info["index"] = np.asarray(index)
    info["coded"] = coded
    levels = levels_used or {f.name: list(f.levels) for f in factors}
    return values, levels, model, terms, info


def _continuous(coded, factors, model, terms, info):
    values = np.column_stack([_coded_to_value(f, coded[:, j]) for j, f in enumerate(factors)])
    info["continuous"] = coded
    levels = {f.name: sorted(set(values[:, j].tolist())) for j, f in enumerate(factors)}
    return values.tolist(), levels, model, terms, info
