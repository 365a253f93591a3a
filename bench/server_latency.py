"""MCP server latency: cold start over stdio and the p50 of a design tool call.

Cold start: from spawning `python -m scaling_design serve` to the answer of tools/list
(initialize, initialized, tools/list over raw JSON-RPC lines, so no client library is
timed), with the tool-list cache in place (every start after the first since the last
source change) and without it (a fresh cache folder each time: the first start after an
install or an edit). Baseline in the same run: a minimal server of the same SDK with one
trivial tool, the floor set by the interpreter and the SDK's own imports. Target < 1.5 s.

Tool call: p50 of design_matrix_construction on its documented example through the SDK's
in-memory client (protocol, validation, worker thread, JSON), against the same call made
directly in Python. Target < 10 ms.

    python bench/server_latency.py [--starts 7] [--calls 200]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import anyio

MINIMAL_SERVER = """
import anyio, mcp.types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

async def list_tools(ctx, params):
    return types.ListToolsResult(tools=[types.Tool(name="echo", description="echo",
        input_schema={"type": "object", "properties": {"x": {"type": "number", "description": "x"}}})])

async def call_tool(ctx, params):
    return types.CallToolResult(content=[types.TextContent(type="text", text="ok")])

server = Server("minimal", on_list_tools=list_tools, on_call_tool=call_tool)

async def main():
    async with stdio_server() as (r, w):
        await server.run(r, w, server.create_initialization_options())

anyio.run(main)
"""


def _send(proc, message: dict) -> None:
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()


def _answer(proc, request_id: int) -> dict:
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        message = json.loads(line)
        if message.get("id") == request_id:
            return message


def cold_start(argv: list[str], cache: str | None = None) -> tuple[float, int]:
    """Seconds from spawn to the tools/list answer, and the number of tools listed."""
    env = dict(os.environ)
    if cache is not None:
        env["SCALING_DESIGN_CACHE"] = cache
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        _send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"}}})
        _answer(proc, 1)
        _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        _send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
        tools = _answer(proc, 2)["result"]["tools"]
        elapsed = time.perf_counter() - t0
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return elapsed, len(tools)


async def tool_call_latency(calls: int) -> tuple[list[float], list[float]]:
    from mcp import Client

    from scaling_design.server import build_server
    from scaling_design.tools import get_tool

    spec = get_tool("design_matrix_construction")
    args = spec.example
    direct = []
    for _ in range(calls):
        t0 = time.perf_counter()
        spec.call(args)
        direct.append(time.perf_counter() - t0)
    served = []
    async with Client(build_server(use_cache=False)) as client:
        await client.list_tools()
        for _ in range(5):  # warm-up: first-call imports and caches
            await client.call_tool(spec.name, args)
        for _ in range(calls):
            t0 = time.perf_counter()
            result = await client.call_tool(spec.name, args)
            served.append(time.perf_counter() - t0)
            assert not result.is_error
    return served, direct


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=7, help="cold starts of each server (median reported)")
    parser.add_argument("--calls", type=int, default=200, help="tool calls timed")
    args = parser.parse_args()
    print(f"command: {sys.executable} {' '.join(sys.argv)}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}; python {sys.version.split()[0]}")

    serve = [sys.executable, "-m", "scaling_design", "serve"]
    cache = tempfile.mkdtemp(prefix="scaling-design-bench-")
    cold_start(serve, cache)  # the first start writes the cache
    ours, fresh, base, n_tools = [], [], [], 0
    for _ in range(args.starts):  # interleaved, so background load hits all three alike
        t, n_tools = cold_start(serve, cache)
        ours.append(t)
        fresh.append(cold_start(serve, tempfile.mkdtemp(prefix="scaling-design-bench-"))[0])
        base.append(cold_start([sys.executable, "-c", MINIMAL_SERVER])[0])
    med_ours, med_fresh, med_base = statistics.median(ours), statistics.median(fresh), statistics.median(base)
    print(f"\ncold start over stdio, spawn -> tools/list answered ({args.starts} starts, median [min, max]):")
    print(f"  scaling-design ({n_tools} tools), tool-list cache in place  {med_ours:.3f} s  "
          f"[{min(ours):.3f}, {max(ours):.3f}]")
    print(f"  scaling-design, no cache (first start after a change)   {med_fresh:.3f} s  "
          f"[{min(fresh):.3f}, {max(fresh):.3f}]")
    print(f"  minimal SDK server (1 tool)                             {med_base:.3f} s  "
          f"[{min(base):.3f}, {max(base):.3f}]")
    print(f"  ratio to the minimal server: {med_ours / med_base:.2f}x cached, {med_fresh / med_base:.2f}x without; "
          f"target < 1.5 s: {'met' if med_ours < 1.5 else 'NOT met'} (cached), "
          f"{'met' if med_fresh < 1.5 else 'NOT met'} (first start)")

    served, direct = anyio.run(tool_call_latency, args.calls)
    p50_served, p50_direct = statistics.median(served), statistics.median(direct)
    p90 = statistics.quantiles(served, n=10)[-1]
    print(f"\ndesign_matrix_construction on its example ({args.calls} calls):")
    print(f"  through the in-memory MCP client  p50 {_ms(p50_served)}  p90 {_ms(p90)}")
    print(f"  direct Python call                p50 {_ms(p50_direct)}")
    print(f"  ratio {p50_served / p50_direct:.2f}x (protocol overhead {_ms(p50_served - p50_direct)}); "
          f"target p50 < 10 ms: {'met' if p50_served < 0.010 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
