"""A bounded, seeded fuzz through the in-memory client: schema-generated inputs, hostile values and
mutations of each tool's example (bench/fuzzing.py; bench/fuzz.py is the long run over stdio)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from mcp import Client

from scaling_design.server import build_server
from scaling_design.tools import TOOLS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from fuzzing import Tally, plan_calls, run_calls  # noqa: E402

pytestmark = pytest.mark.anyio
CALLS, SEED, LIMIT_S = 144, 0, 0.2


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.slow  # about 20 s: bounded below 30 s
async def test_a_seeded_fuzz_finds_no_crash_leak_non_finite_number_or_unnamed_field():
    pytest.importorskip("hypothesis_jsonschema")
    tally = Tally()
    start = time.perf_counter()
    async with Client(build_server(use_cache=False)) as client:
        tools = (await client.list_tools()).tools
        plan = plan_calls(tools, {n: s.example for n, s in TOOLS.items()}, CALLS, SEED)
        await run_calls(client, plan, tally, LIMIT_S)
    assert tally.calls == len(plan) >= CALLS - len(tools)
    assert tally.bad() == 0, tally.report()
    assert tally.generated and tally.generated_accepted / tally.generated >= 0.4, tally.report()
    assert time.perf_counter() - start < 30
