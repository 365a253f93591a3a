"""Reading run results (CSV text or rows) into the arrays a law form needs.

Accepted columns (case-insensitive; aliases in parentheses):
  N (params, n_params, parameters, model size)   D (tokens, n_tokens, training tokens)
  C (compute, flops, training flop)               U (unique tokens, unique_tokens)
  x                                               loss (final_loss, eval_loss, val_loss)
  seed, weight, role (fit | validation)           anything else is ignored.
Rows with role = validation are held out of the fit and scored after it.
With C in place of D, D = C / (6N). Rows whose loss is empty are runs not done yet:
they are skipped and counted, so a results template can be fitted as it fills up.
"""
from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..limits import MAX_FIT_RUNS
from ..laws.forms import LawForm

__all__ = ["RunTable", "read_csv_text", "from_rows"]

ALIASES = {
    "N": ("n", "params", "n_params", "parameters", "model size", "model_size", "num_params"),
    "D": ("d", "tokens", "n_tokens", "training tokens", "training_tokens", "num_tokens"),
    "C": ("c", "compute", "flops", "training flop", "training_flop", "training_flops"),
    "U": ("u", "unique tokens", "unique_tokens"),
    "x": ("x",),
    "loss": ("loss", "final_loss", "eval_loss", "val_loss", "validation_loss"),
    "seed": ("seed",),
    "weight": ("weight", "w"),
}


@dataclass(frozen=True)
class RunTable:
    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    seeds: np.ndarray | None
    n_skipped: int
    notes: list[str] = field(default_factory=list)
    validation_X: np.ndarray | None = None   # role = validation rows with a loss: scored, not fitted
    validation_y: np.ndarray | None = None
    rows: np.ndarray | None = None           # 0-based data-row index of each fitted run


def _match_columns(names: list[str]) -> dict[str, str]:
    """Canonical column -> the CSV column that supplies it. A column named exactly as the
    canonical one wins over an alias (a file may carry both, e.g. plot coordinates)."""
    keys = {n: n.strip().lower() for n in names}
    chosen: dict[str, str] = {}
    for canon, aliases in ALIASES.items():
        exact = [n for n, k in keys.items() if k == canon.lower()]
        alias = [n for n, k in keys.items() if k in aliases]
        if exact or alias:
            chosen[canon] = (exact or alias)[0]
    return chosen


def _to_float(value, column: str, row: int, quote: bool, source: str) -> float:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        got = f"got {value!r}" if quote else "got a non-numeric value"  # a file's content is never echoed
        raise InputError(source, f"{source}: {column} must be a number; {got} in row {row + 1}") from None


def _check_run_cap(n_rows: int, source: str) -> None:
    if n_rows > MAX_FIT_RUNS:
        raise InputError(source, f"{source} holds more than {MAX_FIT_RUNS:,} runs, over the cap of {MAX_FIT_RUNS:,} runs "
                                 "per fit; average replicates or fit a subset")


def from_rows(rows: list[dict], form: LawForm, source: str = "runs", quote: bool = True) -> RunTable:
    """Build the arrays for `form` from row dicts keyed by column name (aliases allowed).

    quote=False (a file read for a server) keeps every cell and header out of the error messages."""
    _check_run_cap(len(rows), source)
    if not rows:
        raise InputError(source, f"{source} is empty; give at least {form.n_params} runs with {list(form.inputs)} and loss")
    present = [str(n) for n in rows[0].keys()]
    notes: list[str] = []
    cols = {canon: np.array([_to_float(r.get(name), canon, i, quote, source) for i, r in enumerate(rows)], float)
            for canon, name in _match_columns(present).items()}
    if "D" in form.inputs and "D" not in cols and "C" in cols and "N" in cols:
        cols["D"] = cols["C"] / (6.0 * cols["N"])
        notes.append("D computed from C as C / (6N)")
    if form.inputs == ("x",) and "x" not in cols:
        single = [k for k in ("N", "D", "C") if k in cols]
        if len(single) == 1:
            cols["x"] = cols[single[0]]
            notes.append(f"x taken from column {single[0]}")
    needed = list(form.inputs) + ["loss"]
    missing = [k for k in needed if k not in cols]
    if missing:
        hint = " (or C with N, for D = C/(6N))" if "D" in missing else ""
        found = present if quote else f"{len(present)} other columns"
        raise InputError(source, f"{source}: column {missing[0]!r} is missing{hint}; form {form.name!r} needs columns {needed}; found {found}")
    done = ~np.isnan(cols["loss"])
    role_col = next((n for n in present if n.strip().lower() == "role"), None)
    roles = np.array([str(r.get(role_col) or "fit").strip().lower() for r in rows]) if role_col else np.full(len(rows), "fit")
    unknown = sorted(set(roles) - {"fit", "validation", ""})
    if unknown:
        got = repr(str(unknown[0])) if quote else "another value"
        raise InputError(source, f"{source}: role must be 'fit' or 'validation'; got {got}")
    held = roles == "validation"
    for k in form.inputs:
        bad = np.flatnonzero(done & np.isnan(cols[k]))
        if bad.size:
            raise InputError(source, f"{source}: column {k!r} is empty in row {bad[0] + 1} although that run has a loss")
    used = done & ~held
    X = np.column_stack([cols[k][used] for k in form.inputs])
    weights = cols["weight"][used] if "weight" in cols else None
    seeds = cols["seed"][used] if "seed" in cols else None
    val = done & held
    vX = np.column_stack([cols[k][val] for k in form.inputs]) if val.any() else None
    if val.any():
        notes.append(f"{int(val.sum())} runs with role=validation held out of the fit and scored after it")
    return RunTable(X, cols["loss"][used], weights, seeds, int(np.sum(~done)), notes,
                    vX, cols["loss"][val] if val.any() else None, np.flatnonzero(used))


def read_csv_text(text: str, form: LawForm, source: str = "csv", quote: bool = True) -> RunTable:
    """Runs from CSV text; quote=False for a file read by a server (see from_rows)."""
    reader = csv.DictReader(io.StringIO(text.strip()))
    try:
        if not reader.fieldnames:
            raise InputError(source, f"{source} has no header row; expected columns like {list(form.inputs) + ['loss']}")
        rows = list(itertools.islice(reader, MAX_FIT_RUNS + 1))
    except csv.Error as exc:  # csv's messages name the limit broken, not the cell
        raise InputError(source, f"{source} is not a readable CSV table (line {reader.line_num}: {exc})") from None
    return from_rows(rows, form, source, quote)
