"""Fuzzing the served tools: inputs generated from the served input schemas (hypothesis-jsonschema),
hostile values, and mutations of each tool's documented example; and the checks every answer must
pass. Used by bench/fuzz.py (the long run over stdio) and tests/test_fuzz.py (a bounded run in memory).

Checks: no crash (a call that raises in the client, or a dead server), no timeout (an answer later
than time_limit_s plus a margin), no traceback or exception name in any text, no non-finite number,
structured output valid against the tool's output schema, and every isError text about an input
naming a field the caller sent (or one the schema declares, for a field left out).
"""
from __future__ import annotations

import json
import math
import random
import re
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import jsonschema

HOSTILE = [float("nan"), float("inf"), -float("inf"), -1, 0, -0.0, 1e308, -1e308, 1e-320, 10**30, -(10**30),
           2**63, "", "x" * 5000, "NaN", "Infinity", "-1e999", None, True, [], {}, [[]], {"a": {"b": [1, None]}},
           "/etc/passwd", "../../../../etc/shadow", "~/.ssh/id_rsa", "a\x00b", "\n# heading\n| a |\n|---|\n<b>x</b>",
           [float("nan")] * 3, [1e308] * 3, list(range(2000)), ["N"] * 50]
LEAK = re.compile(r"Traceback|File \"|line \d+, in |\b[A-Z][A-Za-z]*(Error|Exception)\b|\bnumpy\.|\bnp\.")
INPUT_ERROR = ("Invalid arguments for", "Invalid input for")
TIME_MARGIN_S = 3.0


def mutations(example: dict[str, Any], properties: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The tool's example with one field set to a hostile value, removed, or an unknown field added."""
    args = dict(example)
    choice = rng.random()
    names = sorted(set(args) | set(properties))
    if choice < 0.8 and names:
        args[rng.choice(names)] = rng.choice(HOSTILE)
    elif choice < 0.9 and args:
        args.pop(rng.choice(sorted(args)))
    else:
        args["no_such_field"] = rng.choice(HOSTILE)
    return args


def _bound_values(prop: dict[str, Any]) -> list[Any]:
    """The edges a property's schema declares: its bounds (just inside an exclusive one) and its enum."""
    options = [prop] + [o for o in prop.get("anyOf", []) if isinstance(o, dict)]
    values: list[Any] = []
    for o in options:
        values += list(o.get("enum", []))
        for key in ("minimum", "maximum"):
            if key in o:
                values.append(o[key])
        if "exclusiveMinimum" in o:
            low = o["exclusiveMinimum"]
            values.append(low + 1 if o.get("type") == "integer" else (low * 1.000001 if low > 0 else low + 1e-9))
        if "exclusiveMaximum" in o:
            high = o["exclusiveMaximum"]
            values.append(high - 1 if o.get("type") == "integer" else high * 0.999999 if high > 0 else high - 1e-9)
    return values


def boundary_arguments(example: dict[str, Any], properties: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The tool's example with one to four fields set to edges of their declared ranges: each value is valid
    alone, their combination is where a derived quantity leaves the range a later stage accepts."""
    edges = {n: _bound_values(p) for n, p in properties.items() if isinstance(p, dict)}
    names = sorted(n for n, v in edges.items() if v)
    args = dict(example)
    for name in rng.sample(names, k=min(len(names), rng.randint(1, 4))):
        args[name] = rng.choice(edges[name])
    return args


def hostile_arguments(properties: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A few of the tool's own fields, each with a hostile value."""
    names = sorted(properties)
    return {n: rng.choice(HOSTILE) for n in rng.sample(names, k=min(len(names), rng.randint(1, 3)))}


def schema_examples(schema: dict[str, Any], example: dict[str, Any], n: int, seed: int,
                    whole_share: float = 0.3) -> list[dict[str, Any]]:
    """n inputs drawn by hypothesis-jsonschema from the served schema: a share of whole inputs drawn from
    it, the rest the tool's example with one or two fields drawn from their own property schemas (the
    cross-field rules a flat schema cannot state, such as 'exactly one of runs, csv_path or csv_text',
    stay met). [] when hypothesis-jsonschema is not installed."""
    try:
        from hypothesis import HealthCheck, given, settings, strategies as st
        from hypothesis import seed as hseed
        from hypothesis_jsonschema import from_schema
    except ImportError:
        return []
    props = {k: v for k, v in schema.get("properties", {}).items() if isinstance(v, dict)}
    if "$defs" in schema:  # a recursive model keeps its references: each property needs the definitions
        props = {k: {**v, "$defs": schema["$defs"]} for k, v in props.items()}
    field_draw = st.lists(st.sampled_from(sorted(props)), min_size=1, max_size=2, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({k: from_schema(props[k]) for k in names}))
    overlay = field_draw.map(lambda fields: {**example, **fields})
    whole = from_schema(schema)
    drawn: list[dict[str, Any]] = []
    n_whole = int(n * whole_share) if example else n
    for strategy, count, offset in ((whole, n_whole, 0), (overlay, n - n_whole, 1)):
        if count <= 0 or (strategy is overlay and not props):
            continue

        @hseed(seed * 2 + offset)
        @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck))
        @given(strategy)
        def draw(value):
            drawn.append(value)

        try:
            draw()
        except Exception:  # a schema construct it cannot handle: the other generators still run
            continue
    return drawn


@dataclass
class Tally:
    calls: int = 0
    crashes: int = 0
    timeouts: int = 0
    leaks: int = 0
    non_finite: int = 0
    schema_failures: int = 0
    unnamed_fields: int = 0
    faults: int = 0
    generated: int = 0  # inputs from hypothesis-jsonschema
    generated_accepted: int = 0
    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    failures: list[dict[str, Any]] = field(default_factory=list)  # every bad answer in full, to replay it

    def note(self, kind: str, text: str, tool: str = "", arguments: dict[str, Any] | None = None) -> None:
        if len(self.examples[kind]) < 5:
            self.examples[kind].append(text[:300])
        self.failures.append({"kind": kind, "tool": tool, "arguments": arguments, "answer": text})

    def bad(self) -> int:
        return (self.crashes + self.timeouts + self.leaks + self.non_finite + self.schema_failures
                + self.unnamed_fields + self.faults)

    def report(self) -> str:
        rate = self.generated_accepted / self.generated if self.generated else float("nan")
        lines = [f"calls {self.calls}: crashes {self.crashes}, timeouts {self.timeouts}, leaked tracebacks or "
                 f"exception names {self.leaks}, non-finite numbers {self.non_finite}, outputs failing their schema "
                 f"{self.schema_failures}, input errors not naming a field sent {self.unnamed_fields}, tool faults "
                 f"{self.faults}",
                 f"schema-generated inputs {self.generated}, accepted {self.generated_accepted} ({rate:.0%})"]
        for name, times in sorted(self.latency.items()):
            times = sorted(times)
            p99 = times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)]
            lines.append(f"  {name:30s} n={len(times):5d} p50 {statistics.median(times) * 1e3:8.1f} ms  "
                         f"p99 {p99 * 1e3:8.1f} ms")
        for kind, texts in self.examples.items():
            lines += [f"  e.g. {kind}: {t}" for t in texts]
        return "\n".join(lines)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


LEADING_FIELD = re.compile(r"^Invalid (?:arguments|input) for \w+: `?([A-Za-z_]\w*)")
ASKS_FOR = ("give", "pass", "required", "missing", "needs", "must be given")


def _names_a_field(text: str, arguments: dict[str, Any], properties: dict[str, Any]) -> bool:
    """The error names a field as the caller sent it: its leading field is one sent, or one left out that the
    text asks for (a required input), or time_limit_s (every call has one, sent or default). Without a leading
    field, some field sent must appear in the text, or a declared one it asks for."""
    asks = any(word in text for word in ASKS_FOR)
    lead = LEADING_FIELD.match(text)
    if lead is not None and lead.group(1) in set(properties) | set(arguments):
        name = lead.group(1)
        return name in arguments or name == "time_limit_s" or asks
    named = [n for n in set(arguments) | set(properties)
             if re.search(rf"(^|[^A-Za-z0-9_]){re.escape(str(n))}([^A-Za-z0-9_]|$)", text)]
    return any(n in arguments for n in named) or (asks and bool(named))


def check(tally: Tally, tool, arguments: dict[str, Any], result, elapsed: float, generated: bool) -> None:
    """Tally one answer against every rule."""
    tally.calls += 1
    tally.latency[tool.name].append(elapsed)
    limit = arguments.get("time_limit_s")
    limit = float(limit) if isinstance(limit, (int, float)) and 0 < limit <= 3600 else 120.0
    if elapsed > limit + TIME_MARGIN_S:
        tally.timeouts += 1
        tally.note("timeout", f"{tool.name} {elapsed:.1f}s", tool.name, arguments)
    texts = " ".join(getattr(c, "text", "") for c in result.content)
    if result.is_error:
        if LEAK.search(texts):
            tally.leaks += 1
            tally.note("leak", texts, tool.name, arguments)
        if "fault in the tool" in texts:
            tally.faults += 1
            tally.note("fault", f"{tool.name} {json.dumps(arguments, default=str)[:150]} -> {texts}", tool.name, arguments)
        elif texts.startswith(INPUT_ERROR) and not _names_a_field(texts, arguments, tool.input_schema.get("properties", {})):
            tally.unnamed_fields += 1
            tally.note("unnamed", texts, tool.name, arguments)
        return
    if generated:
        tally.generated_accepted += 1
    structured = result.structured_content
    if _has_non_finite(structured):
        tally.non_finite += 1
        tally.note("non_finite", tool.name, tool.name, arguments)
    try:
        jsonschema.validate(structured, tool.output_schema)
    except jsonschema.ValidationError as exc:
        tally.schema_failures += 1
        tally.note("schema", f"{tool.name}: {exc.message}", tool.name, arguments)


def plan_calls(tools: list, examples: dict[str, dict], n_calls: int, seed: int,
               schema_share: float = 0.5) -> list[tuple[Any, dict, bool]]:
    """(tool, arguments, generated-from-schema) for n_calls calls, spread evenly over the served tools;
    ``examples`` maps a tool name to its documented example (the seed of the mutations)."""
    rng = random.Random(seed)
    per_tool = max(1, n_calls // len(tools))
    plan = []
    for i, tool in enumerate(tools):
        props = tool.input_schema.get("properties", {})
        n_schema = int(per_tool * schema_share)
        drawn = schema_examples(tool.input_schema, examples.get(tool.name, {}), n_schema, seed + i)[:n_schema]
        plan += [(tool, d, True) for d in drawn]
        for _ in range(per_tool - len(drawn)):
            example = examples.get(tool.name, {})
            draw = rng.random()
            args = (mutations(example, props, rng) if draw < 0.45 else boundary_arguments(example, props, rng)
                    if draw < 0.8 else hostile_arguments(props, rng))
            plan.append((tool, args, False))
    rng.shuffle(plan)
    return plan[:n_calls]


def bounded(arguments: dict[str, Any], limit_s: float) -> dict[str, Any]:
    """The arguments with time_limit_s at most limit_s (a fuzz run has many calls to make)."""
    out = dict(arguments)
    value = out.get("time_limit_s", math.inf)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > limit_s:
        out["time_limit_s"] = limit_s  # a hostile value (NaN, a string, <= 0) is kept: it must be refused
    return out


async def run_calls(client, plan, tally: Tally, limit_s: float) -> None:
    """Make every planned call through an MCP client and tally the answers."""
    from mcp.shared.exceptions import MCPError

    for tool, arguments, generated in plan:
        arguments = bounded(arguments, limit_s)
        tally.generated += generated
        start = time.perf_counter()
        try:
            result = await client.call_tool(tool.name, arguments)
        except MCPError as exc:  # a protocol error is an answer too, but must not leak internals
            tally.calls += 1
            if LEAK.search(str(exc)):
                tally.leaks += 1
                tally.note("leak", str(exc), tool.name, arguments)
            continue
        except Exception as exc:  # the transport broke or the server died
            tally.calls += 1
            tally.crashes += 1
            tally.note("crash", f"{tool.name}: {type(exc).__name__}: {exc}", tool.name, arguments)
            continue
        check(tally, tool, arguments, result, time.perf_counter() - start, generated)
