"""Markdown reports rendered from dumped outputs with sandboxed Jinja2 templates.

Each step has one template, ``templates/<tool_name>.md.j2``, rendering one
section that starts with ``## Title``; it receives ``out`` =
``Output.model_dump(mode="json")``. ``templates/report.md.j2`` assembles the
whole plan from those sections. User text (a question, a factor name) only ever
arrives as data inside ``out``: no string from an input is compiled as a
template, and the sandbox refuses attribute tricks in the templates themselves.
Autoescape is off because the output is markdown, not HTML; the ``cell`` filter
makes a value safe inside a markdown table row, and ``text`` renders a caller's free text
(the question, metric and factor names) as literal inline text.

Filters: ``num`` (4 significant digits: 1.23e+09, 0.3473, 512), ``pct``
(0.123 -> 12.3%), ``cell`` (no pipes, newlines or HTML), ``text`` (caller's text, all markdown
escaped), ``sci`` (always 1.23e+09).
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel

from .step_order import STEP_ORDER

__all__ = ["environment", "render_step", "render_plan", "render_fit", "render_allocation", "num", "pct",
           "TEMPLATE_DIR", "has_template"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
GENERIC_TEMPLATE = "_generic.md.j2"


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def num(value: Any, digits: int = 4) -> str:
    """A number to ``digits`` significant digits (1.23e+09, 0.3473, 512); other values unchanged."""
    x = _as_number(value)
    if x is None:
        return "n/a" if value is None else str(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def pct(value: Any, digits: int = 3) -> str:
    """A fraction as a percentage to ``digits`` significant digits: 0.123 -> 12.3%."""
    x = _as_number(value)
    if x is None:
        return "n/a" if value is None else str(value)
    if not math.isfinite(x):
        return num(x)
    return f"{x * 100:.{digits}g}%"


def sci(value: Any, digits: int = 3) -> str:
    """Always scientific notation: 1.23e+09 (FLOPs, tokens, parameters)."""
    x = _as_number(value)
    if x is None:
        return "n/a" if value is None else str(value)
    return f"{x:.{digits - 1}e}"


_INLINE = str.maketrans({"\\": "\\\\", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]",
                         "#": "\\#", "|": "\\|", "!": "\\!", "<": "&lt;", ">": "&gt;", "&": "&amp;",
                         "\r": " ", "\n": " "})


def cell(value: Any) -> str:
    """A value that cannot break a markdown table row (no pipes, newlines or HTML)."""
    shown = "" if value is None else str(value)
    shown = shown.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return shown.replace("<", "&lt;").replace(">", "&gt;")


def text(value: Any) -> str:
    """Free text from a caller (a question, a metric name) as literal inline markdown: one line, every
    markdown and HTML character escaped, so it can add no heading, table, link, emphasis or tag."""
    return ("" if value is None else " ".join(str(value).split())).translate(_INLINE)


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """The one sandboxed environment every report is rendered with."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(enabled_extensions=(), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=num, pct=pct, sci=sci, cell=cell, text=text)
    return env


def _dump(output: BaseModel | dict[str, Any]) -> dict[str, Any]:
    if isinstance(output, BaseModel):
        return output.model_dump(mode="json")
    return dict(output)


def has_template(tool_name: str) -> bool:
    return (TEMPLATE_DIR / f"{tool_name}.md.j2").is_file()


def _tidy(markdown: str) -> str:
    """At most one blank line in a row, one newline at the end."""
    lines, blank = [], False
    for line in markdown.rstrip().splitlines():
        if not line.strip():
            if blank:
                continue
            blank = True
            lines.append("")
        else:
            blank = False
            lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def render_step(tool_name: str, output: BaseModel | dict[str, Any], in_plan: bool = False) -> str:
    """One step's section; a step without its own template gets the generic one. `in_plan`: the section sits
    in a plan whose final run table is shown apart, so the step's own table is labelled as candidates."""
    env = environment()
    template = env.get_template(f"{tool_name}.md.j2" if has_template(tool_name) else GENERIC_TEMPLATE)
    return _tidy(template.render(out=_dump(output), tool=tool_name, in_plan=in_plan))


def render_plan(plan_output: BaseModel | dict[str, Any]) -> str:
    """The whole plan (the scaling_design Output): summary, verdict, a section per step, checks."""
    plan = _dump(plan_output)
    skipped = plan.get("skipped_steps") or {}
    sections = [render_step(name, plan[name], in_plan=True) if plan.get(name) is not None else
                _tidy(environment().get_template("_skipped.md.j2").render(tool=name, reason=skipped.get(name, "")))
                for name in STEP_ORDER if plan.get(name) is not None or name in skipped]
    return _tidy(environment().get_template("report.md.j2").render(plan=plan, sections=sections))


def render_fit(fit_output: BaseModel | dict[str, Any]) -> str:
    """The report of a fit_scaling_law result."""
    return render_step("fit_scaling_law", fit_output)


def render_allocation(allocation_output: BaseModel | dict[str, Any]) -> str:
    """The report of a compute_optimal_allocation result."""
    return render_step("compute_optimal_allocation", allocation_output)
