"""Knowledge tables: published laws and defaults as TOML data, each row with its source.

The tables are read once and cached; callers get plain dicts (copies) so nothing
mutates the shared data.
"""
from __future__ import annotations

import copy
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["load", "published_law", "published_law_names", "budget_gate", "hardware_peak", "defaults",
           "accelerator"]


@lru_cache(maxsize=None)
def _read(name: str) -> dict[str, Any]:
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load(name: str) -> dict[str, Any]:
    """Return the TOML table ``knowledge/<name>.toml`` as a fresh dict."""
    try:
        return copy.deepcopy(_read(name))
    except FileNotFoundError:
        raise KeyError(f"knowledge table {name!r} does not exist") from None


def defaults() -> dict[str, Any]:
    return load("defaults")


def published_law_names() -> list[str]:
    return list(_read("published_laws"))


def published_law(name: str) -> dict[str, Any]:
    """A published law by key (e.g. ``epoch``, ``hoffmann``, ``kaplan_n``) with its source."""
    laws = _read("published_laws")
    if name not in laws:
        raise KeyError(f"law must be one of {sorted(laws)}; got {name!r}")
    return copy.deepcopy(laws[name])


def budget_gate(scaling_type: str) -> dict[str, Any]:
    """The Budget Gate row for a scaling type (data, model, compute_optimal, inference)."""
    gate = _read("defaults")["budget_gate"]
    if scaling_type not in gate or scaling_type == "source":
        accepted = sorted(k for k in gate if k != "source")
        raise KeyError(f"scaling_type must be one of {accepted}; got {scaling_type!r}")
    row = copy.deepcopy(gate[scaling_type])
    row["source"] = gate["source"]
    return row


def hardware_names() -> list[str]:
    """The accelerators the GPU-hour conversions know (the `hardware` enum of every schema)."""
    return sorted(k for k in _read("defaults")["hardware"] if k != "source")


def hardware_peak(name: str) -> float:
    """Dense BF16 peak FLOP/s of an accelerator by name (A100, H100, ...)."""
    table = _read("defaults")["hardware"]
    key = next((k for k in table if k.lower() == name.lower()), None)
    if key is None or key == "source":
        accepted = sorted(k for k in table if k != "source")
        raise KeyError(f"hardware must be one of {accepted}; got {name!r}")
    return float(table[key]["peak_flops"])


def accelerator(hardware: str, mfu: float | None) -> tuple[float, float, str | None]:
    """(peak FLOP/s of `hardware`, the MFU given or the table default, the default's source or None).

    The one place a step turns its `hardware` and `mfu` fields into numbers; an unknown
    accelerator is an InputError naming `hardware` and the accepted names."""
    from ..errors import InputError  # errors pulls in pydantic; the tables alone do not need it

    try:
        peak = hardware_peak(hardware)
    except KeyError as exc:
        raise InputError("hardware", str(exc.args[0])) from None
    if mfu is not None:
        return peak, float(mfu), None
    row = _read("defaults")["mfu"]
    return peak, float(row["default"]), str(row["source"])
