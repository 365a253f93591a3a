"""What a server that agents call must never do: read files outside its roots, quote a file,
build a table past its cap, or run past its time limit."""
from __future__ import annotations

import json
import os
import re
import threading
import time

import pytest
from expensive_inputs import expensive_inputs, runs_csv
from mcp import Client

import mcp.types as types
from scaling_design import file_access, limits
from scaling_design.errors import InputError
from scaling_design.server import FileAccess, build_server
from scaling_design.tools import TOOLS, get_tool

pytestmark = pytest.mark.anyio

SECRET = "abc-SECRET-ROW2"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _answer(result) -> str:
    """Everything the client sees: the text and the structured content."""
    return json.dumps([c.model_dump() for c in result.content]) + json.dumps(result.structured_content)


@pytest.fixture
def dirs(tmp_path):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    canary = f"N,D,loss\n1e8,2e9,3.4\n2e8,4e9,{SECRET}\n"
    (outside / "secret.csv").write_text(canary)
    (allowed / "secret.csv").write_text(canary)
    (allowed / "passwd.csv").write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/bin/sh\n")
    (allowed / "link.csv").symlink_to(outside / "secret.csv")
    return allowed, outside


def _calls(path: str) -> list[tuple[str, dict]]:
    return [("fit_scaling_law", {"csv_path": path}), ("compute_optimal_allocation", {"compute": [1e21], "law": path})]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_paths_outside_the_roots_are_refused_by_name_without_their_content(dirs, mode):
    allowed, outside = dirs
    server = build_server(use_cache=False, access=FileAccess(allow_dirs=(allowed,)))
    async with Client(server, mode=mode) as client:
        for path in ("/etc/passwd", str(outside / "secret.csv"), str(allowed / "link.csv"),
                     str(allowed / ".." / "outside" / "secret.csv")):
            for name, args in _calls(path):
                result = await client.call_tool(name, args)
                text = _answer(result)
                assert result.is_error and "outside the directories this server may read" in text
                assert "root:x:0" not in text and SECRET not in text and path in text


async def test_a_file_inside_a_root_is_read_but_its_cells_and_header_are_never_quoted(dirs):
    allowed, _ = dirs
    server = build_server(use_cache=False, access=FileAccess(allow_dirs=(allowed,)))
    async with Client(server) as client:
        for name, args in _calls(str(allowed / "secret.csv")):
            text = _answer(await client.call_tool(name, args))
            assert SECRET not in text and "loss must be a number; got a non-numeric value in row 2" in text
        for name, args in _calls(str(allowed / "passwd.csv")):
            text = _answer(await client.call_tool(name, args))
            assert "root:x:0" not in text and "column 'N' is missing" in text


async def test_over_http_no_file_is_read_unless_a_directory_is_allowed(dirs):
    allowed, _ = dirs
    closed = build_server(use_cache=False, access=FileAccess.for_transport(http=True))
    opened = build_server(use_cache=False, access=FileAccess.for_transport(http=True, allow_dirs=[str(allowed)]))
    async with Client(closed) as client:
        result = await client.call_tool("fit_scaling_law", {"csv_path": str(allowed / "secret.csv")})
        assert result.is_error and "reads no files" in _answer(result) and SECRET not in _answer(result)
    async with Client(opened) as client:
        result = await client.call_tool("fit_scaling_law", {"csv_path": str(allowed / "secret.csv")})
        assert "row 2" in _answer(result)


async def test_the_clients_roots_are_where_a_stdio_server_reads(dirs):
    allowed, outside = dirs
    (outside / "runs.csv").write_text(runs_csv(20))

    async def roots(context):
        return types.ListRootsResult(roots=[types.Root(uri=outside.as_uri())])

    async with Client(build_server(use_cache=False), mode="legacy", list_roots_callback=roots) as client:
        result = await client.call_tool("fit_scaling_law", {"csv_path": str(outside / "runs.csv")})
    assert not result.is_error and result.structured_content["n_runs"] == 20


def test_outside_a_server_a_path_is_the_users_and_is_read_as_given(dirs):
    _, outside = dirs
    (outside / "runs.csv").write_text(runs_csv(20))
    assert get_tool("fit_scaling_law").call({"csv_path": str(outside / "runs.csv")}).n_runs == 20
    with file_access.confined([]), pytest.raises(InputError, match="reads no files"):
        file_access.read_text(str(outside / "runs.csv"), "csv_path")


def test_a_fifo_or_device_is_refused_without_blocking(dirs):
    allowed, _ = dirs
    os.mkfifo(allowed / "pipe.csv")
    with file_access.confined([allowed]):
        for path in (allowed / "pipe.csv", allowed):
            with pytest.raises(InputError, match="regular file|not a readable file"):
                file_access.read_text(str(path), "csv_path")


WIDE = [{"name": f"f{i}", "levels": [0.0, 1.0]} for i in range(30)]
OVER_CAP = {
    "19 factors x 10 levels": ("factors", {"design": "full_factorial",
                                           "factors": [{"name": f"f{i}", "levels": list(range(10))} for i in range(19)]}),
    "16 factors x 16 levels": ("factors", {"design": "full_factorial",
                                           "factors": [{"name": f"f{i}", "levels": list(range(16))} for i in range(16)]}),
    "30 factors x 1000 levels": ("factors", {"design": "full_factorial", "factors": [
        {"name": f"f{i}", "levels": list(range(1000))} for i in range(30)]}),
    "maximin hypercube of 20,000": ("samples", {"design": "latin_hypercube", "samples": 20000, "factors": WIDE}),
    "40,000-run hypercube": ("replicates", {"design": "latin_hypercube", "samples": 20000, "replicates": 2,
                                            "lhs_criterion": None, "factors": WIDE}),
    "central composite on 30 factors": ("factors", {"design": "central_composite", "factors": WIDE}),
}


@pytest.mark.parametrize("case", sorted(OVER_CAP))
def test_designs_over_the_cap_are_refused_at_once_naming_the_cap_and_the_field(case):
    field, args = OVER_CAP[case]
    spec = get_tool("design_matrix_construction")
    spec.module  # import excluded from the timing
    start = time.perf_counter()
    with pytest.raises(InputError, match=rf"^{field}: .*over the cap of [\d,]+") as err:
        spec.call(args)
    assert time.perf_counter() - start < 1.0
    assert err.value.field == field


def test_a_fit_reads_100000_runs_and_refuses_more_naming_the_cap():
    from scaling_design.analysis.runs_io import read_csv_text
    from scaling_design.laws.forms import get_form

    text = runs_csv(limits.MAX_FIT_RUNS)
    assert read_csv_text(text, get_form("chinchilla"), "csv_text").X.shape == (limits.MAX_FIT_RUNS, 2)
    with pytest.raises(InputError, match=r"^csv_text holds more than 100,000 runs, over the cap"):
        read_csv_text(text + "\n1e8,2e9,3.4", get_form("chinchilla"), "csv_text")


def test_a_cancelled_call_stops_at_once_with_a_refusal_naming_time_limit_s(tmp_path):
    spec = get_tool("budget_constrained_design")
    args = expensive_inputs(str(tmp_path / "law.csv"))["budget_constrained_design"]
    deadline = limits.Deadline(60)
    threading.Timer(0.5, deadline.cancel).start()
    start = time.perf_counter()
    with pytest.raises(InputError, match="^time_limit_s: the call was cancelled"):
        spec.call(args, deadline=deadline)
    assert time.perf_counter() - start < 1.5


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_an_interrupt_swallowed_by_the_stage_is_raised_again_until_the_call_ends():
    """An asynchronous exception that lands in a weakref callback or a __del__ is swallowed there."""
    deadline, swallowed = limits.Deadline(0.1), 0
    start = time.monotonic()
    with pytest.raises(InputError, match="^time_limit_s = 0.1 s ran out during a loop"):
        with limits.enforced(deadline, "a loop"):
            while time.monotonic() - start < 5:  # bounded: without the retry nothing more comes
                try:
                    _spin(1)
                except limits.Interrupted:
                    swallowed += 1
                    if swallowed == 3:
                        raise
    assert swallowed == 3 and time.monotonic() - start < 0.1 + limits.GRACE_S + 2 * limits.RETRY_S + 0.5
    _spin(3 * limits.RETRY_S)  # released: nothing more is raised in this thread


@pytest.mark.slow
async def test_every_tool_answers_within_two_seconds_of_a_one_second_limit_on_its_most_expensive_input(tmp_path):
    law = tmp_path / "law.csv"
    law.write_text(runs_csv(300))
    inputs = expensive_inputs(str(law))
    server = build_server(use_cache=False, access=FileAccess(allow_dirs=(tmp_path,)))
    async with Client(server) as client:
        for name, spec in TOOLS.items():
            await client.call_tool(name, dict(spec.example, time_limit_s=1))  # imports excluded
            start = time.perf_counter()
            result = await client.call_tool(name, dict(inputs.get(name, spec.example), time_limit_s=1))
            elapsed = time.perf_counter() - start
            assert elapsed < 2.0, (name, elapsed)
            if result.is_error:
                assert "time_limit_s" in _answer(result), name
            elif name in inputs:
                assert result.structured_content["truncated"] is True, name


def _markdown_lines_are_plain(markdown: str) -> None:
    for line in markdown.splitlines():
        assert not line.lstrip().startswith(("# Inj", "|a|", "| a | b |")) and line.strip() not in ("|---|", "|---|---|")
    assert "<script>" not in markdown and not re.search(r"(?<!\\)\]\(http", markdown)


def test_free_text_in_the_report_adds_no_heading_table_or_html():
    from scaling_design.report import environment, render_step

    with pytest.raises(ValueError, match="primary_metric` must be a one-line metric name"):
        get_tool("metric_specification").call({"scaling_type": "model", "primary_metric": "loss\n# Inj\n<b>"})
    metric = "loss # Inj |a| *x* [l](http://e)"
    out = get_tool("metric_specification").call({"scaling_type": "model", "primary_metric": metric})
    _markdown_lines_are_plain(render_step("metric_specification", out))
    question = "What scales?\n# Injected heading\n| a | b |\n|---|---|\n<script>alert(1)</script> [x](http://e)"
    _markdown_lines_are_plain(environment().from_string("**Question:** {{ q | text }}").render(q=question))


_KEYWORDS = {"type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const", "not"}


def _untyped_properties(schema, path: str = "#") -> list[str]:
    """Every subschema (property, array item, union member, map value, definition) that carries no validation
    keyword: it accepts any value, which MCP Inspector --strict reports."""
    if not isinstance(schema, dict):
        return []
    found = [] if (_KEYWORDS & set(schema)) or path == "#" else [path]
    children = [(f"{path}.{k}", v) for k, v in (schema.get("properties") or {}).items()]
    children += [(f"{path}.$defs.{k}", v) for k, v in (schema.get("$defs") or {}).items()]
    children += [(f"{path}.{key}[{i}]", v) for key in ("anyOf", "oneOf", "allOf") for i, v in
                 enumerate(schema.get(key) or [])]
    children += [(f"{path}.{key}", schema[key]) for key in ("items", "additionalProperties")
                 if isinstance(schema.get(key), dict)]
    for child_path, child in children:
        found += _untyped_properties(child, child_path)
    return found


def test_the_schemas_declare_a_type_for_every_property_and_the_enums_and_bounds_the_code_enforces():
    from scaling_design.knowledge import hardware_names
    from scaling_design.server import flat_input_schema

    for name, spec in TOOLS.items():
        schema = flat_input_schema(spec.input_model)
        assert not _untyped_properties(schema), name
        assert not _untyped_properties(spec.output_model.model_json_schema(mode="serialization")), name
        props = schema["properties"]
        if "hardware" in props:
            assert props["hardware"]["enum"] == hardware_names(), name
        if "seed" in props:
            assert (props["seed"]["minimum"], props["seed"]["maximum"]) == (0, 2**32 - 1), name
        assert props["time_limit_s"]["exclusiveMinimum"] == 0, name
        scaling = props.get("scaling_type", {})
        assert not scaling or "enum" in scaling or any("enum" in o for o in scaling.get("anyOf", [])), name


@pytest.mark.parametrize("tool, arguments, lead", [
    ("budget_constrained_design", {"budget": 1e21, "n_max": 1e6}, "`n_max` must be > `n_min` (default"),
    ("budget_constrained_design", {"budget": 1e21, "n_min": 1e12}, "`n_min` must be < `n_max`"),
    ("budget_constrained_design", {"budget": 1e21, "tokens_per_param_max": 1.0},
     "`tokens_per_param_max` must be >= `tokens_per_param_min` (default"),
    ("factor_identification", {"question": "How does loss scale?", "budget_gpu_hours": 100, "responses": ["loss"]},
     "`responses` is for study_kind 'general'"),
    ("compute_optimal_allocation", {"compute": [1e21], "unique_tokens": 1e-300}, "unique_tokens"),
    ("fit_scaling_law", {"runs": [{"N": 1e8, "D": 2e9, "loss": 3.1}, {"D": 4e9, "loss": 3.0}]},
     "runs: column 'N' is empty in row 2"),
    ("sample_size_estimation", {"alpha": 0.97, "runs_per_group": 30000}, "alpha: statsmodels finds no effect_size"),
    ("sample_size_estimation", {"alpha": 0.2, "power": 0.1, "effect_size": 0.5}, "`power` must be above `alpha`"),
])
def test_an_input_error_leads_with_the_field_the_caller_sent(tool, arguments, lead):
    """Found by the fuzz: with only n_max sent, the error led with n_min (its default); a CSV cell by its column."""
    with pytest.raises(ValueError) as refused:
        get_tool(tool).call(arguments)
    assert lead in str(refused.value)
