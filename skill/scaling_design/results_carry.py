"""Carry a user's filled results over to a new plan's results template (``plan --keep-results``).

A row of the old template is filled when any result column (a column of the template
that the design table does not have: ``loss``, ``throughput`` ...) holds a value. It is
placed on the new template's row whose run settings are the same: every column the two
templates share except the result columns and the bookkeeping ones (run id, order,
block, point index, which a new plan renumbers), numbers compared to 1e-9 relative.
Each new row takes at most one old row. Rows that find no match are returned to be kept
in a file beside the template: never dropped.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

__all__ = ["BOOKKEEPING_COLUMNS", "result_columns", "filled_rows", "carry_over", "CarryResult"]

BOOKKEEPING_COLUMNS = frozenset({"run_id", "run_order", "block", "point", "order"})


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), [dict(r) for r in reader]


def _to_csv(header: list[str], rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def result_columns(template_csv: str, design_csv: str) -> list[str]:
    """The template's columns that the design table does not have: where measurements go."""
    template_header, _ = _rows(template_csv)
    design_header = set(_rows(design_csv)[0])
    return [c for c in template_header if c not in design_header]


def _is_filled(row: dict[str, str], columns: list[str]) -> bool:
    return any((row.get(c) or "").strip() for c in columns)


def filled_rows(template_csv: str, columns: list[str]) -> list[dict[str, str]]:
    """The rows of a results template with at least one measurement filled in."""
    try:
        _, rows = _rows(template_csv)
    except csv.Error:
        return []
    return [r for r in rows if _is_filled(r, columns)]


def _same(a: str, b: str) -> bool:
    a, b = (a or "").strip(), (b or "").strip()
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=0.0)


@dataclass(frozen=True)
class CarryResult:
    template_csv: str     # the new template with the placed rows' measurements
    placed: int
    unplaced_csv: str | None  # the old rows that found no run, with the old header; None when all were placed
    unplaced: int


def carry_over(old_template_csv: str, new_template_csv: str, columns: list[str]) -> CarryResult:
    """Put the filled measurements of the old template on the matching runs of the new one."""
    old_header, old_rows = _rows(old_template_csv)
    new_header, new_rows = _rows(new_template_csv)
    keys = [c for c in new_header if c in old_header and c not in columns and c not in BOOKKEEPING_COLUMNS]
    taken: set[int] = set()
    unplaced = []
    placed = 0
    for old in (r for r in old_rows if _is_filled(r, columns)):
        match = next((i for i, new in enumerate(new_rows)
                      if i not in taken and all(_same(old.get(k, ""), new.get(k, "")) for k in keys)), None)
        if match is None or not keys:
            unplaced.append(old)
            continue
        taken.add(match)
        placed += 1
        for c in columns:
            if c in old and (old[c] or "").strip():
                new_rows[match][c] = old[c]
    unplaced_csv = _to_csv(old_header, unplaced) if unplaced else None
    return CarryResult(_to_csv(new_header, new_rows), placed, unplaced_csv, len(unplaced))
