"""One function per command: read the arguments, call the registry's tool, print or write."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..tools import TOOLS, get_tool
from .base import UsageError
from .inputs import _print_json, _read_json, example_names, load_example


def _cmd_tools(args: argparse.Namespace) -> int:
    for name, spec in TOOLS.items():
        try:
            first = spec.description.splitlines()[0] if spec.description else ""
        except ImportError as exc:  # a module that is not installed: say so, list the rest
            first = f"(unavailable: {exc})"
        print(f"{name:30s} {first}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from ..server import flat_input_schema

    spec = get_tool(args.tool)
    _print_json({"name": spec.name, "input_schema": flat_input_schema(spec.input_model),
                 "output_schema": spec.output_model.model_json_schema(mode="serialization"),
                 "example": spec.example})
    return 0


def _cmd_examples(args: argparse.Namespace) -> int:
    for name in example_names():
        print(f"{name:20s} {load_example(name).get('question', '')}")
    return 0


def _cmd_call(args: argparse.Namespace) -> int:
    spec = get_tool(args.tool)
    arguments = spec.example if args.example else _read_json(args.input)
    _print_json(spec.call(arguments))
    return 0


def write_plan_files(plan: Any, out_dir: Path, plots: bool = True, *, force: bool = False,
                     keep_results: bool = False) -> dict[str, Path]:
    """report.md, plan.json, design.csv, results-template.csv and the plots of a scaling_design Output.

    Written through `outputs.write_plan_outputs`: atomically, all or none, never over a user's changes.
    """
    from ..outputs import render_into, write_plan_outputs

    out_dir = Path(out_dir)
    contents: dict[str, Any] = {}
    if plots:
        from ..plots import plot_plan

        contents.update(render_into(out_dir, lambda folder: plot_plan(plan, folder)))
    report = plan.report_markdown
    if contents:
        report += "\n## Figures\n\n" + "\n\n".join(f"![{Path(n).stem}]({n})" for n in contents) + "\n"
    files = {"report": ("report.md", report), "plan": ("plan.json", plan.model_dump_json(indent=2)),
             "design": ("design.csv", plan.design_csv),
             "results_template": ("results-template.csv", plan.results_template_csv)}
    plot_names = list(contents)
    contents.update({name: text for name, text in files.values()})
    result = write_plan_outputs(out_dir, contents, plan.design_csv, force=force, keep_results=keep_results)
    written: dict[str, Path] = {key: out_dir / name for key, (name, _) in files.items()}
    written.update({f"plot_{i}": out_dir / name for i, name in enumerate(plot_names)})
    if result.unplaced_path is not None:
        written["results_unplaced"] = result.unplaced_path
    written.update({f"backup_{i}": path for i, path in enumerate(result.backups)})
    if keep_results:
        print(f"kept results: {result.placed} row(s) carried over, {result.unplaced} not placed"
              + (f" (kept in {result.unplaced_path})" if result.unplaced_path else ""), file=sys.stderr)
    return written


def _cmd_plan(args: argparse.Namespace) -> int:
    arguments = load_example(args.example) if args.example else _read_json(args.input)
    plan = get_tool("scaling_design").call(arguments)
    written = write_plan_files(plan, Path(args.out), plots=not args.no_plots, force=args.force,
                               keep_results=args.keep_results)
    print(f"verdict: {plan.verdict}")
    for reason in getattr(plan, "reasons", [])[:5]:
        print(f"  - {reason}")
    for key, path in written.items():
        print(f"{'kept backup' if key.startswith('backup_') else 'wrote'} {path}")
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    arguments: dict[str, Any] = {"csv_path": args.csv, "form": args.form}
    for key in ("objective", "delta", "bootstrap", "seed", "level", "outliers", "direction"):
        if getattr(args, key) is not None:
            arguments[key] = getattr(args, key)
    if args.time_limit is not None:
        arguments["time_limit_s"] = args.time_limit
    if args.candidates:
        arguments["candidates"] = [c.strip() for c in args.candidates.split(",") if c.strip()]
    if args.predict:
        arguments["predict_at"] = [_point(text) for text in args.predict]
    result = get_tool("fit_scaling_law").call(arguments)
    if args.format == "text":
        from ..report import render_fit

        print(render_fit(result), end="")
    else:
        _print_json(result)
    if args.plots:
        from ..plots import band_points, plot_fit

        band = None
        if result.se_source == "bootstrap":
            # The percentile band: the same fit asked for intervals along the drawn curves.
            band = get_tool("fit_scaling_law").call({**arguments, "predict_at": band_points(result)}).predictions
        from ..outputs import render_into, write_outputs

        folder = Path(args.plots)
        figures = render_into(folder, lambda staging: plot_fit(result, staging, band=band))
        written = write_outputs(folder, figures, command="fit", force=args.force,
                                flags_hint="pass --force to replace them (the old files are kept beside as .bak)")
        for path in written.written:
            print(f"wrote {path}", file=sys.stderr)
        for path in written.backups:
            print(f"kept backup {path}", file=sys.stderr)
    return 0


def _point(text: str) -> dict[str, float]:
    """'N=7e10,D=1.4e12' -> {'N': 7e10, 'D': 1.4e12}."""
    point = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            point[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--predict must look like N=7e10,D=1.4e12; got {text!r}") from None
        if not sep or not name.strip():
            raise UsageError(f"--predict must look like N=7e10,D=1.4e12; got {text!r}")
    return point


def _cmd_allocate(args: argparse.Namespace) -> int:
    arguments: dict[str, Any] = {"compute": list(args.compute)}
    if args.law is not None:
        arguments["law"] = args.law  # a file path goes as-is; the tool reads it
    for key in ("bootstrap", "level", "inference_tokens", "unique_tokens"):
        if getattr(args, key) is not None:
            arguments[key] = getattr(args, key)
    result = get_tool("compute_optimal_allocation").call(arguments)
    if args.format == "text":
        from ..report import render_allocation

        print(render_allocation(result), end="")
    else:
        _print_json(result)
    if args.plots:
        from ..outputs import render_into, write_outputs
        from ..plots_allocation import plot_allocation

        folder = Path(args.plots)
        figures = render_into(folder, lambda staging: plot_allocation(result, staging))
        written = write_outputs(folder, figures, command="allocate", force=args.force,
                                flags_hint="pass --force to replace it (the old file is kept beside as .bak)")
        for path in written.written:
            print(f"wrote {path}", file=sys.stderr)
        for path in written.backups:
            print(f"kept backup {path}", file=sys.stderr)
    return 0


def _analysis_outputs(tool: str, result: Any, args: argparse.Namespace, plot) -> None:
    """Print an analysis (JSON or its report section) and write its figure when --plots is given."""
    if args.format == "text":
        from ..report import render_step

        print(render_step(tool, result), end="")
    else:
        _print_json(result)
    if args.plots:
        from ..outputs import render_into, write_outputs

        folder = Path(args.plots)
        figures = render_into(folder, lambda staging: plot(result, staging))
        written = write_outputs(folder, figures, command=args.command, force=args.force,
                                flags_hint="pass --force to replace it (the old file is kept beside as .bak)")
        for path in written.written:
            print(f"wrote {path}", file=sys.stderr)
        for path in written.backups:
            print(f"kept backup {path}", file=sys.stderr)


def _options(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {k: getattr(args, k) for k in names if getattr(args, k) is not None}


def _cmd_isoflop(args: argparse.Namespace) -> int:
    from ..plots_analysis import plot_isoflop

    arguments = {"csv_path": args.csv, **_options(args, ("target_compute", "bootstrap", "joint_bootstrap",
                                                          "budget_tolerance", "level", "seed"))}
    _analysis_outputs("isoflop_analysis", get_tool("isoflop_analysis").call(arguments), args, plot_isoflop)
    return 0


def _cmd_downstream(args: argparse.Namespace) -> int:
    from ..plots_analysis import plot_downstream

    arguments = {"csv_path": args.csv, **_options(args, ("loss_column", "metric_column", "direction", "floor",
                                                          "bootstrap", "level", "seed"))}
    if args.predict:
        arguments["predict_at"] = [_point(text) for text in args.predict]
    _analysis_outputs("downstream_prediction", get_tool("downstream_prediction").call(arguments), args, plot_downstream)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from ..server import serve

    serve(http=args.http, host=args.host, port=args.port, allow_dirs=args.allow_dir or (),
          allow_remote=args.allow_remote)
    return 0


def _cmd_skill_install(args: argparse.Namespace) -> int:
    from ..skill_install import AGENT_TARGETS, install_skill

    target = Path(args.target) if args.target else AGENT_TARGETS[args.agent]
    result = install_skill(target, force=args.force)
    if result.up_to_date:
        print(f"{target} already holds this skill; nothing to do")
    if result.backup is not None:
        print(f"moved the old skill to {result.backup}")
    for path in result.written:
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------- the parser
