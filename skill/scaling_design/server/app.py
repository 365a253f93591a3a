"""The low-level SDK server built from the tool registry: wiring only, no science.

Every tool is served with its Input model's own JSON schema (flat top-level fields, nested
definitions inlined), its Output model's schema and the registry's hints (see schemas). The
low-level server is used because MCPServer derives the schema from a function signature: a
single pydantic parameter there becomes a nested ``$ref`` argument and the model's
cross-field validators would not run on the wire.

A call runs on a worker thread under three bounds: the file-access rule (roots), its
``time_limit_s`` (the step is stopped a moment past it, see limits.enforced), and the client's
cancellation or disconnection, which stops the step at once the same way.
Failures never kill the server: bad input comes back as an ``isError`` result naming the
field; an unexpected exception comes back as a fault without internals and is logged to stderr.
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp.types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from .. import __version__, file_access, limits
from ..tools import TOOLS, ToolSpec
from .docs import doc_prompts, resource_table
from .errors import error_result, fault_text, non_finite_paths, tool_error_text
from .roots import FileAccess
from .schemas import ServedTool, cache_file, describe_tool, read_cached_tools, warm_up, write_cached_tools

__all__ = ["build_server", "SERVER_NAME", "INSTRUCTIONS"]

SERVER_NAME = "scaling-design"
PROGRESS_INTERVAL_S = 0.1  # at most ten progress notifications a second per call
BACKSTOP_S = 0.8  # past time_limit_s the step is stopped (limits.enforced); the server stops waiting soon after

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


def _progress_bridge(ctx: Any) -> Callable[[float, float, str], None]:
    """A synchronous progress(done, total, message) for a step running on a worker thread.

    It hands each report to the event loop (anyio's thread portal), throttled so a tight
    Monte Carlo loop does not flood the client; the final report always goes.
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


class _Catalogue:
    """The served tools, described once (from the disk cache when it is current)."""

    def __init__(self, registry: dict[str, ToolSpec], use_cache: bool):
        self.registry, self.use_cache = registry, use_cache
        self.served: dict[str, ServedTool] = {}
        self.unavailable: dict[str, str] = {}
        self._lock = threading.Lock()

    def tools(self) -> dict[str, ServedTool]:
        with self._lock:
            if not self.served and not self.unavailable:
                self._load()
        return self.served

    def _load(self) -> None:
        names = list(self.registry)
        path = cache_file(names) if self.use_cache else None
        cached = read_cached_tools(path, names)
        if cached is not None:
            self.served.update({t.name: ServedTool(self.registry[t.name], t) for t in cached})
            warm_up(list(self.registry.values()))
            return
        for name, spec in self.registry.items():
            try:
                self.served[name] = describe_tool(spec)
            except Exception as exc:  # one broken module must not take the other tools down
                self.unavailable[name] = "its module failed to load (see the server log)"
                logger.error("tool %s is unavailable: %s: %s", name, type(exc).__name__, exc)
        if not self.unavailable:
            write_cached_tools(path, [entry.tool for entry in self.served.values()])


def _time_limit(spec: ToolSpec, arguments: dict[str, Any]) -> float:
    """The call's time_limit_s as sent when usable (the Input model refuses it otherwise), else the default."""
    value = arguments.get("time_limit_s")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= limits.MAX_TIME_LIMIT_S:
        return float(value)
    field = spec.input_model.model_fields.get("time_limit_s")
    default = getattr(field, "default", None)
    return float(default) if isinstance(default, (int, float)) and math.isfinite(default) else limits.DEFAULT_TIME_LIMIT_S


DISCONNECT_POLL_S = 0.25


async def _stop_on_disconnect(ctx: Any, deadline: limits.Deadline) -> None:
    """Over HTTP, a client that drops its connection has abandoned the call; the SDK does not cancel the handler
    then, so the step's deadline is cancelled here and the work stops. Over stdio there is no request to watch."""
    probe = getattr(getattr(ctx, "request", None), "is_disconnected", None)
    if probe is None:
        return
    while not deadline.cancelled:
        await anyio.sleep(DISCONNECT_POLL_S)
        try:
            gone = await probe()
        except Exception:  # a transport without the probe: the call keeps its own time limit
            return
        if gone:
            logger.info("client disconnected: the call is stopped")
            deadline.cancel()
            return


async def _run_step(spec: ToolSpec, arguments: dict[str, Any], ctx: Any, access: FileAccess) -> Any:
    """The step's output, or the error result that replaces it."""
    deadline = limits.Deadline(_time_limit(spec, arguments))
    progress = _progress_bridge(ctx) if spec.long_running else None

    def work() -> Any:
        with file_access.confined(access.roots_provider(ctx)):
            return spec.call(arguments, progress=progress, deadline=deadline)

    async def watched() -> Any:
        outcome: dict[str, Any] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(_stop_on_disconnect, ctx, deadline)
            try:
                outcome["value"] = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
            except (Exception, SystemExit) as exc:  # raised past the group it would come wrapped in an ExceptionGroup
                outcome["error"] = exc
            finally:
                tg.cancel_scope.cancel()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    try:
        with anyio.move_on_after(deadline.seconds + BACKSTOP_S):  # a step stuck inside one C call
            return await watched()
        return error_result(f"Invalid input for {spec.name}: time_limit_s = {deadline.seconds:g} s ran out before "
                            "the tool finished; raise time_limit_s or ask for less work.")
    except (ValidationError, ValueError) as exc:
        return error_result(tool_error_text(spec, spec.name, exc))
    except (Exception, SystemExit):  # a step calling sys.exit must not stop the server either
        logger.exception("tool %s raised", spec.name)
        return error_result(fault_text(spec.name))
    finally:
        deadline.cancel()  # a cancelled or timed-out call's thread is interrupted; a finished one is untouched


def _result(name: str, output: Any) -> types.CallToolResult:
    try:
        structured = output.model_dump(mode="json")
        bad = non_finite_paths(structured)
        if bad:  # NaN is not JSON, and null would break the output schema: a fault to report, not hide
            logger.error("tool %s returned non-finite numbers at %s", name, bad)
            return error_result(f"{name} produced non-finite numbers at {', '.join(bad[:5])}; this is a fault "
                                "in the tool, not in the arguments; the server is still running.")
        text = json.dumps(structured, allow_nan=False)
    except Exception:
        logger.exception("tool %s returned an output that does not serialise", name)
        return error_result(fault_text(name))
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=structured)


def build_server(tools: Mapping[str, ToolSpec] | None = None, use_cache: bool = True,
                 access: FileAccess | None = None) -> Server:
    """A low-level SDK server serving the given registry (default: all of tools.TOOLS).

    ``use_cache`` lets the tool list come from the on-disk cache (see schemas); ``access`` is the
    file-access rule (default: stdio's, the working directory and the client's roots)."""
    catalogue = _Catalogue(dict(TOOLS if tools is None else tools), use_cache)
    access = access or FileAccess()
    cache: dict[str, Any] = {}

    def table(key: str, build: Callable[[], dict]) -> dict:
        if key not in cache:
            cache[key] = build()
        return cache[key]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[entry.tool for entry in catalogue.tools().values()])

    def input_schema(name: str) -> dict[str, Any] | None:
        entry = catalogue.tools().get(name)
        return None if entry is None else entry.tool.input_schema

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        entry = catalogue.tools().get(params.name)
        if entry is None:
            if params.name in catalogue.unavailable:
                return error_result(f"{params.name} is unavailable on this server: {catalogue.unavailable[params.name]}")
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: name must be one of {sorted(catalogue.served)}; "
                                                 f"got {params.name[:80]!r}")
        output = await _run_step(entry.spec, dict(params.arguments or {}), ctx, access)
        return output if isinstance(output, types.CallToolResult) else _result(params.name, output)

    async def list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[prompt for prompt, _ in table("prompts", doc_prompts).values()])

    async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        prompts = table("prompts", doc_prompts)
        if params.name not in prompts:
            raise MCPError(types.INVALID_PARAMS, f"name must be one of {sorted(prompts)}; got {params.name[:80]!r}")
        prompt, render = prompts[params.name]
        missing = [a.name for a in prompt.arguments or [] if a.required and not (params.arguments or {}).get(a.name)]
        if missing:
            raise MCPError(types.INVALID_PARAMS, f"prompt {params.name} needs the argument(s) {missing}")
        return types.GetPromptResult(description=prompt.description, messages=[types.PromptMessage(
            role="user", content=types.TextContent(type="text", text=render(dict(params.arguments or {}))))])

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[res for res, _ in table("resources", resource_table).values()])

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        resources, uri = table("resources", resource_table), str(params.uri)
        if uri not in resources:
            raise MCPError(types.INVALID_PARAMS, f"uri must be one of {sorted(resources)}; got {uri[:120]!r}")
        resource, read = resources[uri]
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type=resource.mime_type, text=read())])

    return Server(SERVER_NAME, version=__version__, title="Scaling design", instructions=INSTRUCTIONS,
                  get_tool_input_schema=input_schema, on_list_tools=list_tools, on_call_tool=call_tool,
                  on_list_prompts=list_prompts, on_get_prompt=get_prompt, on_list_resources=list_resources,
                  on_read_resource=read_resource)
