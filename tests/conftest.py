"""Shared test fixtures: the reference data in ../shared/data/ (beside the project root)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CHINCHILLA_CSV = SHARED_DATA / "chinchilla_svg_extracted.csv"


def load_chinchilla_240() -> tuple[np.ndarray, np.ndarray]:
    """Hoffmann's 245 points as extracted by Besiroglu et al. 2024, minus the 5 highest
    losses (loss >= 3.446), as the replication does: X = (N, D) with D = C / (6N)."""
    with CHINCHILLA_CSV.open() as fh:
        rows = list(csv.DictReader(fh))
    N = np.array([float(r["Model Size"]) for r in rows])
    C = np.array([float(r["Training FLOP"]) for r in rows])
    loss = np.array([float(r["loss"]) for r in rows])
    keep = loss < 3.446
    return np.column_stack([N[keep], C[keep] / (6 * N[keep])]), loss[keep]


@pytest.fixture(scope="session")
def chinchilla_240():
    if not CHINCHILLA_CSV.is_file():
        pytest.skip(f"reference data not found at {CHINCHILLA_CSV} (the shared data folder sits beside the project root)")
    return load_chinchilla_240()
