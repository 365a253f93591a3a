"""Rows of runs from one of three sources (rows, CSV text, CSV file), and the extra columns the
isoFLOP and downstream analyses read beside runs_io's (N, D or C, loss, role).

Files are read through the file-access rule (a server reads only inside its allowed roots),
and errors about a file's cells never quote them there."""
from __future__ import annotations

import csv
import io

import numpy as np

from ..errors import InputError
from ..file_access import quote_content, read_text

__all__ = ["source_rows", "numeric_column", "roles"]


def source_rows(runs: list[dict] | None, csv_text: str | None, csv_path: str | None) -> tuple[list[dict], str, bool]:
    """(rows, the field they came from, whether errors may quote cells)."""
    given = [n for n, v in (("runs", runs), ("csv_path", csv_path), ("csv_text", csv_text)) if v is not None]
    if len(given) != 1:
        raise InputError("runs", f"give exactly one of runs, csv_path or csv_text; got {given or 'none'}")
    if runs is not None:  # as a CSV would: every row has every column (empty where a row did not give it)
        columns = list(dict.fromkeys(k for r in runs for k in r))
        return [{k: r.get(k, "") for k in columns} for r in runs], "runs", True
    if csv_text is not None:
        return _parse(csv_text, "csv_text"), "csv_text", True
    return _parse(read_text(csv_path, "csv_path"), "csv_path"), "csv_path", quote_content()


def _parse(text: str, field: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text.strip()))
    if not reader.fieldnames:
        raise InputError(field, f"{field} has no header row; expected columns like N, D (or C), loss")
    return list(reader)


def _key(rows: list[dict], names: tuple[str, ...]) -> str | None:
    if not rows:
        return None
    lowered = {str(k).strip().lower(): k for k in rows[0]}
    return next((lowered[n] for n in names if n in lowered), None)


def numeric_column(rows: list[dict], names: tuple[str, ...], field: str, quote: bool) -> np.ndarray | None:
    """The first column named in `names` (case-insensitive) as floats (NaN where empty); None when absent."""
    key = _key(rows, names)
    if key is None:
        return None
    out = np.full(len(rows), np.nan)
    for i, row in enumerate(rows):
        value = row.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            got = f"got {value!r}" if quote else "got a non-numeric value"
            raise InputError(field, f"{field} must be a number; {got} in row {i + 1}") from None
    return out


def roles(rows: list[dict]) -> np.ndarray:
    """Each row's role ('fit' unless the row says 'validation'); runs_io refuses other values."""
    key = _key(rows, ("role",))
    if key is None:
        return np.full(len(rows), "fit")
    return np.array([str(r.get(key) or "fit").strip().lower() for r in rows])
