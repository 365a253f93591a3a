"""Built-in examples, JSON inputs and JSON printing."""
from __future__ import annotations

import json
import sys
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

from .base import UsageError


def _examples_dir():
    return importlib_resources.files("scaling_design").joinpath("examples")


def example_names() -> list[str]:
    """The built-in strategy inputs (``plan --example NAME``)."""
    return sorted(p.name.removesuffix(".json") for p in _examples_dir().iterdir() if p.name.endswith(".json"))


def load_example(name: str) -> dict[str, Any]:
    names = example_names()
    if name not in names:
        raise UsageError(f"--example must be one of {names}; got {name!r}")
    return json.loads(_examples_dir().joinpath(f"{name}.json").read_text(encoding="utf-8"))


def _read_json(source: str, option: str = "--input") -> dict[str, Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{option}: file not found: {source}") from None
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {source}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{option}: must hold a JSON object of the tool's arguments; got {type(data).__name__}")
    return data


def _print_json(model_or_data: Any) -> None:
    if hasattr(model_or_data, "model_dump_json"):
        print(model_or_data.model_dump_json(indent=2))
    else:
        print(json.dumps(model_or_data, indent=2))


# ---------------------------------------------------------------- commands
