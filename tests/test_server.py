"""The MCP server through the SDK's own clients: in memory in both connection modes
(`auto`, the 2026 per-request protocol; `legacy`, the initialize handshake Claude Desktop
and VS Code use) and over stdio with a subprocess."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from scaling_design.server import build_server, flat_input_schema
from scaling_design.tools import TOOLS

pytestmark = pytest.mark.anyio

MODES = ["auto", "legacy"]
# The examples of the strategy and the Monte Carlo steps take seconds; run them once (auto mode) and the
# quick ones in both modes.
SLOW_EXAMPLES = {"scaling_design", "sample_size_estimation", "budget_constrained_design", "fit_scaling_law"}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def server():
    return build_server(use_cache=False)


def _text(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def _walk_properties(schema: dict):
    """Every (name, property schema) of an object schema, nested objects and arrays of objects included."""
    for name, prop in schema.get("properties", {}).items():
        yield name, prop
        for option in [prop] + prop.get("anyOf", []) + [prop.get("items", {})]:
            if isinstance(option, dict) and option.get("type") == "object" and "properties" in option:
                yield from _walk_properties(option)
            items = option.get("items") if isinstance(option, dict) else None
            if isinstance(items, dict) and "properties" in items:
                yield from _walk_properties(items)


@pytest.mark.parametrize("mode", MODES)
async def test_all_ten_tools_are_listed_with_flat_described_inputs_and_output_schemas(server, mode):
    async with Client(server, mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert sorted(tools) == sorted(TOOLS)
    for name, tool in tools.items():
        schema = tool.input_schema
        assert schema["type"] == "object"
        assert "$ref" not in json.dumps(schema), f"{name}: top-level arguments must not hide behind $ref"
        assert set(schema["properties"]) == set(TOOLS[name].input_model.model_fields), name
        undescribed = [field for field, prop in _walk_properties(schema) if not prop.get("description")]
        assert not undescribed, f"{name}: input fields without a description: {undescribed}"
        assert tool.output_schema and tool.output_schema["type"] == "object", name
        assert tool.description and len(tool.description) > 80, name


@pytest.mark.parametrize("mode", MODES)
async def test_annotations_follow_the_registry(server, mode):
    async with Client(server, mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name, spec in TOOLS.items():
        hints = tools[name].annotations
        assert hints.read_only_hint is spec.read_only
        assert hints.idempotent_hint is spec.idempotent
        assert hints.open_world_hint is False


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(TOOLS))
async def test_each_tool_answers_its_documented_example_with_structured_output(server, mode, name):
    if mode == "legacy" and name in SLOW_EXAMPLES:
        pytest.skip("slow example: run once, in auto mode")
    spec = TOOLS[name]
    async with Client(server, mode=mode) as client:
        result = await client.call_tool(name, spec.example)
    assert not result.is_error, _text(result)
    # The structured content is the Output model itself, and the text copy says the same.
    output = spec.output_model.model_validate(result.structured_content)
    assert json.loads(_text(result)) == result.structured_content
    assert output.model_dump(mode="json") == result.structured_content


@pytest.mark.parametrize("mode", MODES)
async def test_a_bad_value_comes_back_as_an_error_naming_the_field_and_its_description(server, mode):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("compute_optimal_allocation", {"compute": "a lot"})
    assert result.is_error
    text = _text(result)
    assert "compute" in text and "a lot" in text
    description = TOOLS["compute_optimal_allocation"].input_model.model_fields["compute"].description
    assert "Fix:" in text and description.rstrip(". ") in text


@pytest.mark.parametrize("mode", MODES)
async def test_an_unknown_argument_is_named_with_the_accepted_fields(server, mode):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("compute_optimal_allocation", {"compute": [1e24], "budget": 3})
    assert result.is_error
    assert "remove `budget`" in _text(result) and "law" in _text(result)


@pytest.mark.parametrize("mode", MODES)
async def test_an_input_error_raised_inside_a_step_names_its_field(server, mode):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("compute_optimal_allocation", {"compute": [1e24], "law": "no-such-law"})
    assert result.is_error
    assert "law" in _text(result) and "no-such-law" in _text(result)


@pytest.mark.parametrize("mode", MODES)
async def test_the_server_keeps_answering_after_bad_calls(server, mode):
    async with Client(server, mode=mode) as client:
        for bad in ({"compute": []}, {"compute": [-1.0]}, {}, {"compute": [1e24], "law": 7}):
            assert (await client.call_tool("compute_optimal_allocation", bad)).is_error
        with pytest.raises(MCPError) as unknown:  # an unknown tool is a protocol error (-32602), not isError
            await client.call_tool("no_such_tool", {})
        assert unknown.value.error.code == -32602 and "compute_optimal_allocation" in str(unknown.value)
        good = await client.call_tool("compute_optimal_allocation", {"compute": [1e24]})
    assert not good.is_error
    n_opt = good.structured_content["allocations"][0]["N_opt"]
    assert 5e10 < n_opt < 2e11  # Epoch's law at 1e24 FLOPs: ~1e11 parameters


async def test_long_tools_send_progress_notifications(server):
    updates = []

    async def on_progress(progress, total, message):
        updates.append((progress, total, message))

    spec = TOOLS["fit_scaling_law"]
    assert spec.long_running
    async with Client(server) as client:
        result = await client.call_tool(spec.name, {**spec.example, "bootstrap": 300}, progress_callback=on_progress)
    assert not result.is_error, _text(result)
    assert updates, "a long tool must report progress"
    assert all(total and 0 <= done <= total for done, total, _ in updates)


@pytest.mark.parametrize("mode", MODES)
async def test_prompts_cover_the_strategy_and_every_procedure_document(server, mode):
    from scaling_design.resources import procedure_docs

    async with Client(server, mode=mode) as client:
        names = {p.name for p in (await client.list_prompts()).prompts}
        flow = await client.get_prompt("scaling_design", {"question": "How does loss scale with | model size?"})
        step = await client.get_prompt("level_specification", {"context": "a 1B decoder, 20B tokens"})
    assert {"scaling_design"} | {d.name for d in procedure_docs()} == names
    text = flow.messages[0].content.text
    assert "How does loss scale with | model size?" in text  # user text arrives verbatim, never templated
    assert "Budget Gate" in text
    step_text = step.messages[0].content.text
    assert "`level_specification`" in step_text and "a 1B decoder, 20B tokens" in step_text


@pytest.mark.parametrize("mode", MODES)
async def test_resources_serve_the_skill_documents_and_the_published_laws(server, mode):
    async with Client(server, mode=mode) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        law = await client.read_resource("scaling-design://laws/epoch")
        skill = await client.read_resource("scaling-design://skill/SKILL.md")
    assert "scaling-design://skill/SKILL.md" in uris
    assert any(u.startswith("scaling-design://skill/sops/") for u in uris)
    assert any(u.startswith("scaling-design://skill/tactics/") for u in uris)
    epoch = json.loads(law.contents[0].text)
    assert epoch["params"]["alpha"] == pytest.approx(0.348) and "Besiroglu" in epoch["source"]
    assert skill.contents[0].text.startswith("---\nname: scaling-design")


def test_nested_models_are_inlined_so_every_field_keeps_its_description():
    from pydantic import BaseModel, Field

    class Inner(BaseModel):
        low: float = Field(description="lower end")

    class Outer(BaseModel):
        span: Inner = Field(description="the span")
        spans: list[Inner] = Field(default_factory=list, description="more spans")

    schema = flat_input_schema(Outer)
    assert "$defs" not in schema
    assert schema["properties"]["span"]["description"] == "the span"
    assert schema["properties"]["span"]["properties"]["low"]["description"] == "lower end"
    assert schema["properties"]["spans"]["items"]["properties"]["low"]["description"] == "lower end"


async def test_over_stdio_a_subprocess_lists_the_tools_answers_and_survives_bad_input():
    params = StdioServerParameters(command=sys.executable, args=["-m", "scaling_design", "serve"],
                                   env={**os.environ, "SCALING_DESIGN_CACHE": "off"})
    async with Client(params, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        bad = await client.call_tool("compute_optimal_allocation", {"compute": ["x"]})
        good = await client.call_tool("compute_optimal_allocation", {"compute": [1e21, 1e23]})
    assert sorted(t.name for t in tools) == sorted(TOOLS)
    assert bad.is_error and "compute" in _text(bad)
    assert not good.is_error
    assert [a["compute"] for a in good.structured_content["allocations"]] == [1e21, 1e23]


async def test_the_cached_tool_list_is_the_fresh_one_and_the_tools_still_run(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALING_DESIGN_CACHE", str(tmp_path))
    async with Client(build_server()) as client:
        fresh = (await client.list_tools()).tools
    written = list(tmp_path.glob("tools-*.json"))
    assert len(written) == 1
    async with Client(build_server()) as client:
        cached = (await client.list_tools()).tools
        result = await client.call_tool("compute_optimal_allocation", {"compute": [1e24]})
    assert [t.model_dump() for t in cached] == [t.model_dump() for t in fresh]
    assert not result.is_error


async def test_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALING_DESIGN_CACHE", str(tmp_path))
    async with Client(build_server()) as client:
        await client.list_tools()
    (path,) = tmp_path.glob("tools-*.json")
    path.write_text("{not json")
    async with Client(build_server()) as client:
        tools = (await client.list_tools()).tools
    assert sorted(t.name for t in tools) == sorted(TOOLS)
    assert json.loads(path.read_text())[0]["name"] == tools[0].name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_with_http_the_server_answers_streamable_http_on_localhost():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "scaling_design", "serve", "--http", "--port", str(port)],
                            env={**os.environ, "SCALING_DESIGN_CACHE": "off"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the HTTP server did not come up"
                time.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("compute_optimal_allocation", {"compute": [1e24]})
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert sorted(t.name for t in tools) == sorted(TOOLS)
    assert not result.is_error


async def test_a_non_finite_number_in_an_output_is_reported_as_a_fault_naming_the_field():
    from pydantic import BaseModel, ConfigDict, Field

    from scaling_design.tools import ToolSpec

    class Input(BaseModel):
        model_config = ConfigDict(extra="forbid")
        x: float = Field(1.0, description="a number")

    class Output(BaseModel):
        ratio: float = Field(description="0/0 in floating point")

    module = type(sys)("nan_step")
    module.Input, module.Output, module.DESCRIPTION, module.EXAMPLE = Input, Output, "A step whose output is NaN.", {}
    module.run = lambda inp: Output(ratio=float("nan"))
    sys.modules["nan_step"] = module
    try:
        async with Client(build_server({"nan_step": ToolSpec("nan_step", "nan_step")}, use_cache=False)) as client:
            result = await client.call_tool("nan_step", {})
    finally:
        del sys.modules["nan_step"]
    assert result.is_error
    assert "non-finite numbers at ratio" in _text(result) and "fault in the tool" in _text(result)
