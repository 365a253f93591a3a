"""Every number a tool takes is finite: NaN and infinities are refused where they enter, by path.

Pydantic accepts ``NaN``, ``Infinity`` and the strings "nan" or "inf" as floats; a step would
then compute garbage or fail deep inside. ``refuse_non_finite`` walks a validated Input (nested
models, lists, dicts) and names the first non-finite number by the path the caller sent it at,
e.g. ``fixed.seq_len``. Fields whose infinities mean something (an open bound) are listed in the
model's ``NON_FINITE_OK`` class attribute.
"""
from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from .errors import InputError

__all__ = ["refuse_non_finite"]


def _walk(value: Any, path: str, skip: frozenset[str]):
    if isinstance(value, float):
        if not math.isfinite(value):
            yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            if name not in skip:
                yield from _walk(getattr(value, name), f"{path}.{name}" if path else name, skip)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key), skip)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}.{i}", skip)


def refuse_non_finite(inp: BaseModel) -> None:
    """InputError naming the first NaN or infinity in a validated Input."""
    skip = frozenset(getattr(type(inp), "NON_FINITE_OK", ()))
    for path, value in _walk(inp, "", skip):
        raise InputError(path.split(".")[0], f"{path} must be a finite number; got {value!r}")
