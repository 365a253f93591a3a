"""MCP server built from the tool registry: wiring only, no science.

Every tool is served with its Input model's own JSON schema (flat top-level
fields, nested definitions inlined), its Output model's schema as the output
schema, and the registry's read-only / idempotent hints. The low-level SDK
server is used because MCPServer derives the schema from a function signature:
a single pydantic parameter there becomes a nested ``$ref`` argument and the
model's cross-field validators would not run on the wire.

Failures never kill the server: bad input comes back as an ``isError`` result
whose text names the field and what to send instead; an unexpected exception
comes back the same way and is logged to stderr with its traceback.

Start-up stays light: the tool list (schemas, descriptions, annotations) is cached on
disk under a fingerprint of the package's source files and the library versions, so a
new process answers tools/list without importing the numerical stack; the step modules
are then imported on a background thread, and any change to the sources makes a new
fingerprint. ``SCALING_DESIGN_CACHE`` sets the cache folder (``off`` disables it).

Besides the tools: prompts (the strategy's flow, one per SOP and tactic
document) and resources (SKILL.md, every SOP and tactic document, the published
laws). stdio by default; streamable HTTP on 127.0.0.1 with ``serve(http=True)``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ValidationError

from . import __version__
from .tools import TOOLS, ToolSpec

__all__ = ["build_server", "serve", "flat_input_schema", "tool_error_text", "SERVER_NAME"]

SERVER_NAME = "scaling-design"
URI_PREFIX = "scaling-design://"
PROGRESS_INTERVAL_S = 0.1  # at most ten progress notifications a second per call

logger = logging.getLogger("scaling_design.server")

INSTRUCTIONS = """\
Design scaling-law experiments and analyse their results.
For a whole plan call `scaling_design` with the research question, the scaling type and the budget:
it runs every step in order and returns a verdict and a markdown report. To work step by step, call
factor_identification -> level_specification -> metric_specification -> design_matrix_construction ->
sample_size_estimation -> budget_constrained_design, feeding each the outputs of the ones before;
statistical_method_selection picks the test or fitting procedure. After the runs, call
fit_scaling_law on the results and compute_optimal_allocation for the best N and D at a budget.
The resource scaling-design://skill/SKILL.md describes the procedure and the Budget Gate."""


# ---------------------------------------------------------------- schemas

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


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class _ServedTool:
    spec: ToolSpec
    tool: types.Tool


def _describe_tool(spec: ToolSpec) -> _ServedTool:
    annotations = types.ToolAnnotations(
        title=_title(spec.name),
        read_only_hint=spec.read_only,
        idempotent_hint=spec.idempotent,
        destructive_hint=False if spec.read_only else None,
        open_world_hint=False,
    )
    tool = types.Tool(
        name=spec.name,
        title=_title(spec.name),
        description=spec.description,
        input_schema=flat_input_schema(spec.input_model),
        output_schema=spec.output_model.model_json_schema(mode="serialization"),
        annotations=annotations,
    )
    return _ServedTool(spec, tool)


# ---------------------------------------------------------------- the tool-list cache

_PACKAGE_DIR = Path(__file__).resolve().parent


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


def _cache_file(names: list[str]) -> Path | None:
    folder = _cache_dir()
    if folder is None:
        return None
    key = hashlib.sha256("|".join(names).encode()).hexdigest()[:8]
    return folder / f"tools-{_fingerprint()}-{key}.json"


def _read_cached_tools(path: Path | None, names: list[str]) -> list[types.Tool] | None:
    if path is None or not path.is_file():
        return None
    try:
        tools = [types.Tool.model_validate(t) for t in json.loads(path.read_text(encoding="utf-8"))]
    except Exception:  # a damaged cache is rebuilt, never trusted
        logger.warning("ignoring unreadable tool cache %s", path)
        return None
    return tools if [t.name for t in tools] == names else None


def _write_cached_tools(path: Path | None, tools: list[types.Tool]) -> None:
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


def _warm_up(specs: list[ToolSpec]) -> None:
    """Import the step modules in the background so the first call does not wait for them."""
    def load() -> None:
        for spec in specs:
            try:
                spec.module
            except Exception:
                logger.debug("warm-up import of %s failed", spec.module_path, exc_info=True)

    threading.Thread(target=load, name="scaling-design-warm-up", daemon=True).start()


# ---------------------------------------------------------------- errors

def _field_hints(spec: ToolSpec, exc: ValidationError) -> list[str]:
    """For each offending top-level field: what the schema accepts."""
    fields = spec.input_model.model_fields
    hints: list[str] = []
    for err in exc.errors():
        loc = err.get("loc", ())
        top = str(loc[0]) if loc else ""
        if err.get("type") == "extra_forbidden":
            hints.append(f"remove `{top}`; accepted fields: {', '.join(fields)}")
        elif top in fields and fields[top].description:
            hint = f"`{top}`: {fields[top].description.rstrip('. ')}"
            if hint not in hints:
                hints.append(hint)
    return hints


def tool_error_text(spec: ToolSpec | None, name: str, exc: BaseException) -> str:
    """The text an agent reads when a call fails: the field, the value, the fix."""
    if isinstance(exc, ValidationError) and spec is not None:
        from .errors import format_validation_error

        hints = _field_hints(spec, exc)
        text = f"Invalid arguments for {name}: {format_validation_error(exc)}."
        if hints:
            text += " Fix: " + " | ".join(hints) + "."
        return text + " Then call the tool again."
    if isinstance(exc, ValueError):  # InputError and LawInputError are ValueErrors naming the field
        return f"Invalid input for {name}: {exc}. Correct that field and call the tool again."
    return (f"{name} failed unexpectedly ({type(exc).__name__}: {exc}). This is a fault in the tool, "
            "not in the arguments; the server is still running.")


def _non_finite_paths(value: Any, path: str = "") -> list[str]:
    """Where a dumped output holds NaN or an infinity (dotted paths)."""
    if isinstance(value, float):
        return [] if value == value and abs(value) != float("inf") else [path or "output"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _non_finite_paths(v, f"{path}[{i}]")]
    return []


def _error_result(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


# ---------------------------------------------------------------- progress

def _progress_bridge(ctx: Any) -> Callable[[float, float, str], None]:
    """A synchronous progress(done, total, message) for a step running on a worker thread.

    It hands each report to the event loop (anyio's thread portal), throttled so a
    tight Monte Carlo loop does not flood the client; the final report always goes.
    """
    last = [0.0]

    def progress(done: float, total: float, message: str = "") -> None:
        now = time.monotonic()
        if done < total and now - last[0] < PROGRESS_INTERVAL_S:
            return
        last[0] = now
        try:
            anyio.from_thread.run(ctx.session.report_progress, float(done), float(total), message or None)
        except Exception:  # a lost progress note must never fail the computation
            logger.debug("progress notification dropped", exc_info=True)

    return progress


# ---------------------------------------------------------------- prompts and resources

def _doc_prompts() -> dict[str, tuple[types.Prompt, Callable[[dict[str, str]], str]]]:
    from .resources import procedure_docs, skill_md_path

    prompts: dict[str, tuple[types.Prompt, Callable[[dict[str, str]], str]]] = {}
    strategy = types.Prompt(
        name="scaling_design",
        title="Scaling design: the whole flow",
        description="Design a scaling-law experiment end to end: the six steps in order, the Budget Gate, the verdict.",
        arguments=[
            types.PromptArgument(name="question", description="The research question, e.g. 'how does loss scale with "
                                 "model size for our 1B-token data mix?'", required=True),
            types.PromptArgument(name="scaling_type", description="data, model, compute_optimal or inference",
                                 required=False),
            types.PromptArgument(name="budget", description="The budget, in FLOPs or GPU-hours, with the hardware",
                                 required=False),
        ],
    )

    def strategy_text(args: dict[str, str]) -> str:
        lines = [
            "Design a scaling experiment for the question below, following the skill document that follows.",
            "Call the `scaling_design` tool for the whole plan (or each step's tool in the order of the execution "
            "flow), read its verdict and reasons, revise the inputs until the verdict is `ready`, and show the "
            "report to the user.",
            "",
            f"Question: {args.get('question', '').strip() or '(not given: ask the user)'}",
        ]
        if args.get("scaling_type"):
            lines.append(f"Scaling type: {args['scaling_type'].strip()}")
        if args.get("budget"):
            lines.append(f"Budget: {args['budget'].strip()}")
        lines += ["", "---", skill_md_path().read_text(encoding="utf-8")]
        return "\n".join(lines)

    prompts["scaling_design"] = (strategy, strategy_text)

    for doc in procedure_docs():
        kind = "SOP" if doc.kind == "sops" else "tactic"
        prompt = types.Prompt(
            name=doc.name,
            title=f"{_title(doc.name)} ({kind})",
            description=f"Apply the {_title(doc.name).lower()} {kind} and call the `{doc.name}` tool.",
            arguments=[types.PromptArgument(
                name="context", required=False,
                description="What is being studied: the question, model family, budget, and outputs of earlier steps")],
        )

        def doc_text(args: dict[str, str], doc=doc) -> str:
            context = args.get("context", "").strip()
            head = [f"Apply the procedure below, then call the `{doc.name}` tool with arguments chosen by it."]
            if context:
                head += ["", f"Context: {context}"]
            return "\n".join(head + ["", "---", doc.read()])

        prompts[doc.name] = (prompt, doc_text)
    return prompts


def _resource_table() -> dict[str, tuple[types.Resource, Callable[[], str]]]:
    from . import knowledge
    from .resources import procedure_docs, skill_md_path

    table: dict[str, tuple[types.Resource, Callable[[], str]]] = {}
    skill = skill_md_path()
    uri = URI_PREFIX + "skill/SKILL.md"
    table[uri] = (types.Resource(name="SKILL.md", title="Scaling design skill", uri=uri, mime_type="text/markdown",
                                 description="The strategy: execution flow, which tool does each step, Budget Gate."),
                  lambda: skill.read_text(encoding="utf-8"))
    for doc in procedure_docs():
        uri = URI_PREFIX + "skill/" + doc.relative
        table[uri] = (types.Resource(name=doc.relative, title=_title(doc.name), uri=uri, mime_type="text/markdown",
                                     description=f"The {doc.name} procedure ({doc.kind[:-1]})."),
                      doc.read)
    for key in knowledge.published_law_names():
        law = knowledge.published_law(key)
        uri = URI_PREFIX + f"laws/{key}"
        table[uri] = (types.Resource(name=f"law:{key}", title=law.get("title", key), uri=uri,
                                     mime_type="application/json",
                                     description=f"Published law `{key}` ({law.get('form', '')}): parameters and source. "
                                                 f"Pass law='{key}' to compute_optimal_allocation."),
                      lambda law=law: json.dumps(law, indent=2))
    return table


# ---------------------------------------------------------------- the server

def build_server(tools: Mapping[str, ToolSpec] | None = None, use_cache: bool = True) -> Server:
    """A low-level SDK server serving the given registry (default: all of tools.TOOLS).

    ``use_cache`` lets the tool list come from the on-disk cache (see the module notes)."""
    registry = dict(TOOLS if tools is None else tools)
    served: dict[str, _ServedTool] = {}
    unavailable: dict[str, str] = {}
    cache: dict[str, Any] = {}

    lock = threading.Lock()

    def load_tools() -> dict[str, _ServedTool]:
        with lock:
            if not served and not unavailable:
                _load_into(served, unavailable)
        return served

    def _load_into(served: dict[str, _ServedTool], unavailable: dict[str, str]) -> None:
        names = list(registry)
        cache = _cache_file(names) if use_cache else None
        cached = _read_cached_tools(cache, names)
        if cached is not None:
            served.update({t.name: _ServedTool(registry[t.name], t) for t in cached})
            _warm_up(list(registry.values()))
            return
        for name, spec in registry.items():
            try:
                served[name] = _describe_tool(spec)
            except Exception as exc:  # one broken module must not take the other tools down
                unavailable[name] = f"{type(exc).__name__}: {exc}"
                logger.error("tool %s is unavailable: %s", name, unavailable[name])
        if not unavailable:
            _write_cached_tools(cache, [entry.tool for entry in served.values()])

    def prompts() -> dict[str, Any]:
        if "prompts" not in cache:
            cache["prompts"] = _doc_prompts()
        return cache["prompts"]

    def resources() -> dict[str, Any]:
        if "resources" not in cache:
            cache["resources"] = _resource_table()
        return cache["resources"]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[entry.tool for entry in load_tools().values()])

    def input_schema(name: str) -> dict[str, Any] | None:
        entry = load_tools().get(name)
        return None if entry is None else entry.tool.input_schema

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        name = params.name
        entry = load_tools().get(name)
        if entry is None:
            if name in unavailable:
                return _error_result(f"{name} is unavailable on this server: {unavailable[name]}")
            return _error_result(f"name must be one of {sorted(served)}; got {name!r}")
        spec = entry.spec
        arguments = dict(params.arguments or {})
        progress = _progress_bridge(ctx) if spec.long_running else None
        try:
            output = await anyio.to_thread.run_sync(lambda: spec.call(arguments, progress=progress))
        except (ValidationError, ValueError) as exc:
            return _error_result(tool_error_text(spec, name, exc))
        except (Exception, SystemExit) as exc:  # a step calling sys.exit must not stop the server either
            logger.exception("tool %s raised", name)
            return _error_result(tool_error_text(spec, name, exc))
        try:
            structured = output.model_dump(mode="json")
            bad = _non_finite_paths(structured)
            if bad:  # NaN is not JSON, and null would break the output schema: a fault to report, not hide
                logger.error("tool %s returned non-finite numbers at %s", name, bad)
                return _error_result(f"{name} produced non-finite numbers at {', '.join(bad[:5])}; this is a fault "
                                     "in the tool, not in the arguments; the server is still running.")
            text = json.dumps(structured, allow_nan=False)
        except Exception as exc:
            logger.exception("tool %s returned an output that does not serialise", name)
            return _error_result(tool_error_text(spec, name, exc))
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                    structured_content=structured)

    async def list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[prompt for prompt, _ in prompts().values()])

    async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        if params.name not in prompts():
            raise MCPError(types.INVALID_PARAMS, f"name must be one of {sorted(prompts())}; got {params.name!r}")
        prompt, render = prompts()[params.name]
        missing = [a.name for a in prompt.arguments or [] if a.required and not (params.arguments or {}).get(a.name)]
        if missing:
            raise MCPError(types.INVALID_PARAMS, f"prompt {params.name} needs the argument(s) {missing}")
        text = render(dict(params.arguments or {}))
        return types.GetPromptResult(
            description=prompt.description,
            messages=[types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))],
        )

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[res for res, _ in resources().values()])

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        if uri not in resources():
            raise MCPError(types.INVALID_PARAMS, f"uri must be one of {sorted(resources())}; got {uri!r}")
        resource, read = resources()[uri]
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=resource.mime_type, text=read())])

    return Server(
        SERVER_NAME,
        version=__version__,
        title="Scaling design",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


async def _serve_stdio(server: Server) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def serve(http: bool = False, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve over stdio (default) or streamable HTTP at http://HOST:PORT/mcp."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = build_server()
    if not http:
        anyio.run(_serve_stdio, server)
        return
    import uvicorn

    app = server.streamable_http_app(host=host)
    logger.info("serving streamable HTTP at http://%s:%d/mcp", host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    serve()
