"""What tools/list serves: each tool's flat input schema, output schema and hints, cached on disk.

The tool list (schemas, descriptions, annotations) is cached under a fingerprint of the
package's source files and the library versions, so a new process answers tools/list without
importing the numerical stack; the step modules are then imported on a background thread, and
any change to the sources makes a new fingerprint. ``SCALING_DESIGN_CACHE`` sets the cache
folder (``off`` disables it).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcp.types as types
from pydantic import BaseModel

from .. import __version__
from ..tools import ToolSpec

__all__ = ["flat_input_schema", "ServedTool", "describe_tool", "read_cached_tools", "write_cached_tools",
           "cache_file", "warm_up", "title"]

logger = logging.getLogger("scaling_design.server")
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def flat_input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every non-recursive ``$ref`` inlined.

    The top-level properties are the model's own fields (no wrapper object);
    small nested models appear in place, so clients that do not follow
    ``$ref`` still see every field's description.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    unresolved: set[str] = set()

    def resolve(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [resolve(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in stack or name not in defs:  # recursive model: keep the reference
                unresolved.add(name)
                return {k: resolve(v, stack) for k, v in node.items()}
            siblings = {k: resolve(v, stack) for k, v in node.items() if k != "$ref"}
            return {**resolve(defs[name], stack + (name,)), **siblings}
        return {k: resolve(v, stack) for k, v in node.items()}

    flat = resolve(schema, ())
    if unresolved:
        flat["$defs"] = {name: defs[name] for name in unresolved if name in defs}
    return flat


def title(name: str) -> str:
    return name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class ServedTool:
    spec: ToolSpec
    tool: types.Tool


def describe_tool(spec: ToolSpec) -> ServedTool:
    annotations = types.ToolAnnotations(
        title=title(spec.name),
        read_only_hint=spec.read_only,
        idempotent_hint=spec.idempotent,
        destructive_hint=False if spec.read_only else None,
        open_world_hint=False,
    )
    tool = types.Tool(
        name=spec.name,
        title=title(spec.name),
        description=spec.description,
        input_schema=flat_input_schema(spec.input_model),
        output_schema=spec.output_model.model_json_schema(mode="serialization"),
        annotations=annotations,
    )
    return ServedTool(spec, tool)


def _fingerprint() -> str:
    """Changes whenever a source file, a knowledge table or a library version changes."""
    import importlib.metadata

    import pydantic

    digest = hashlib.sha256()
    versions = [__version__, sys.version, pydantic.VERSION, importlib.metadata.version("mcp")]
    digest.update("|".join(versions).encode())
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(_PACKAGE_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _cache_dir() -> Path | None:
    setting = os.environ.get("SCALING_DESIGN_CACHE")
    if setting is not None:
        return None if setting.strip().lower() in ("", "off", "0", "none") else Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scaling-design"


def cache_file(names: list[str]) -> Path | None:
    folder = _cache_dir()
    if folder is None:
        return None
    key = hashlib.sha256("|".join(names).encode()).hexdigest()[:8]
    return folder / f"tools-{_fingerprint()}-{key}.json"


def read_cached_tools(path: Path | None, names: list[str]) -> list[types.Tool] | None:
    if path is None or not path.is_file():
        return None
    try:
        tools = [types.Tool.model_validate(t) for t in json.loads(path.read_text(encoding="utf-8"))]
    except Exception:  # a damaged cache is rebuilt, never trusted
        logger.warning("ignoring unreadable tool cache %s", path)
        return None
    return tools if [t.name for t in tools] == names else None


def write_cached_tools(path: Path | None, tools: list[types.Tool]) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]),
                       encoding="utf-8")
        tmp.replace(path)  # atomic: a concurrent start reads the old file or the new one
    except OSError as exc:
        logger.info("tool cache not written (%s)", exc)


def warm_up(specs: list[ToolSpec]) -> None:
    """Import the step modules in the background so the first call does not wait for them."""
    def load() -> None:
        for spec in specs:
            try:
                spec.module
            except Exception:
                logger.debug("warm-up import of %s failed", spec.module_path, exc_info=True)

    threading.Thread(target=load, name="scaling-design-warm-up", daemon=True).start()
