"""Fuzz the MCP server over stdio with the official client: inputs generated from the served input
schemas (hypothesis-jsonschema), hostile values and mutations of each tool's example (bench/fuzzing.py).

Prints the counts that must be zero (crashes, timeouts, leaked tracebacks or exception names,
non-finite numbers, outputs failing their schema, input errors not naming a field sent, tool faults),
the share of schema-generated inputs accepted, and p50/p99 latency per tool. Exit status 1 when any
count is not zero.

    python bench/fuzz.py --calls 10000 --seed 0 [--time-limit 2] [--failures bad.jsonl]

--failures writes every bad answer in full (kind, tool, arguments, answer), one JSON object a line, to replay.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzzing import Tally, plan_calls, run_calls  # noqa: E402


async def main(n_calls: int, seed: int, limit_s: float, failures: str | None = None) -> int:
    from mcp import Client, StdioServerParameters

    from scaling_design.tools import TOOLS

    params = StdioServerParameters(command=sys.executable, args=["-m", "scaling_design", "serve"],
                                   env={**os.environ, "PYTHONWARNINGS": "ignore"})
    tally = Tally()
    start = time.perf_counter()
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        plan = plan_calls(tools, {n: s.example for n, s in TOOLS.items()}, n_calls, seed)
        print(f"{len(plan)} calls planned over {len(tools)} tools in {time.perf_counter() - start:.1f} s", flush=True)
        for i in range(0, len(plan), 500):  # a line every 500 calls, so a long run shows where it stands
            await run_calls(client, plan[i:i + 500], tally, limit_s)
            print(f"[{time.perf_counter() - start:.0f} s] " + tally.report().splitlines()[0], flush=True)
    print(f"done in {time.perf_counter() - start:.0f} s")
    print(tally.report())
    if failures:
        with open(failures, "w") as out:
            out.writelines(json.dumps(case, default=str) + "\n" for case in tally.failures)
        print(f"{len(tally.failures)} bad answers written to {failures}")
    return 1 if tally.bad() else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=2.0, help="time_limit_s cap of every call (seconds)")
    parser.add_argument("--failures", help="write every bad answer in full to this JSON-lines file")
    args = parser.parse_args()
    sys.exit(anyio.run(main, args.calls, args.seed, args.time_limit, args.failures))
