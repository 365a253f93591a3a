"""The command line, built from the tool registry: no science here.

    scaling-design plan (--example NAME | --input FILE.json) --out DIR [--keep-results | --force]
    scaling-design call TOOL --input FILE.json|-
    scaling-design TOOL-NAME --input FILE.json|-     (each tool, e.g. level-specification; the _ spelling too)
    scaling-design tools | schema TOOL | examples
    scaling-design serve [--http] [--host H] [--port P] [--allow-dir DIR ...] [--allow-remote]
    scaling-design fit FILE.csv --form chinchilla [--objective huber-log] [--delta 1e-3] [--bootstrap N]
    scaling-design allocate --compute 1e24 [--compute ...] [--law epoch|hoffmann|FILE]
    scaling-design isoflop FILE.csv [--target-compute C] [--format text] [--plots DIR]
    scaling-design downstream FILE.csv [--metric-column accuracy] [--predict N=..,D=..] [--plots DIR]
    scaling-design skill install [--agent claude|github | --target DIR] [--force]

Bad input prints one line on stderr that names the field, and exits with 2;
never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from .tools import TOOLS, get_tool, tool_names

__all__ = ["main", "example_names", "load_example"]

EXIT_BAD_INPUT = 2
EXIT_FAULT = 1


class UsageError(Exception):
    """A command-line mistake: the message names the option or field."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise UsageError(f"{self.prog}: {message}")


# ---------------------------------------------------------------- examples and inputs

def _examples_dir():
    return importlib_resources.files("scaling_design").joinpath("examples")


def example_names() -> list[str]:
    """The built-in strategy inputs (``plan --example NAME``)."""
    return sorted(p.name.removesuffix(".json") for p in _examples_dir().iterdir() if p.name.endswith(".json"))


def load_example(name: str) -> dict[str, Any]:
    names = example_names()
    if name not in names:
        raise UsageError(f"--example must be one of {names}; got {name!r}")
    return json.loads(_examples_dir().joinpath(f"{name}.json").read_text(encoding="utf-8"))


def _read_json(source: str, option: str = "--input") -> dict[str, Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{option}: file not found: {source}") from None
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {source}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{option}: must hold a JSON object of the tool's arguments; got {type(data).__name__}")
    return data


def _print_json(model_or_data: Any) -> None:
    if hasattr(model_or_data, "model_dump_json"):
        print(model_or_data.model_dump_json(indent=2))
    else:
        print(json.dumps(model_or_data, indent=2))


# ---------------------------------------------------------------- commands

def _cmd_tools(args: argparse.Namespace) -> int:
    for name, spec in TOOLS.items():
        try:
            first = spec.description.splitlines()[0] if spec.description else ""
        except ImportError as exc:  # a module that is not installed: say so, list the rest
            first = f"(unavailable: {exc})"
        print(f"{name:30s} {first}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from .server import flat_input_schema

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
    from .outputs import render_into, write_plan_outputs

    out_dir = Path(out_dir)
    contents: dict[str, Any] = {}
    if plots:
        from .plots import plot_plan

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
        from .report import render_fit

        print(render_fit(result), end="")
    else:
        _print_json(result)
    if args.plots:
        from .plots import band_points, plot_fit

        band = None
        if result.se_source == "bootstrap":
            # The percentile band: the same fit asked for intervals along the drawn curves.
            band = get_tool("fit_scaling_law").call({**arguments, "predict_at": band_points(result)}).predictions
        from .outputs import render_into, write_outputs

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
        from .report import render_allocation

        print(render_allocation(result), end="")
    else:
        _print_json(result)
    if args.plots:
        from .outputs import render_into, write_outputs
        from .plots_allocation import plot_allocation

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
        from .report import render_step

        print(render_step(tool, result), end="")
    else:
        _print_json(result)
    if args.plots:
        from .outputs import render_into, write_outputs

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
    from .plots_analysis import plot_isoflop

    arguments = {"csv_path": args.csv, **_options(args, ("target_compute", "bootstrap", "joint_bootstrap",
                                                          "budget_tolerance", "level", "seed"))}
    _analysis_outputs("isoflop_analysis", get_tool("isoflop_analysis").call(arguments), args, plot_isoflop)
    return 0


def _cmd_downstream(args: argparse.Namespace) -> int:
    from .plots_analysis import plot_downstream

    arguments = {"csv_path": args.csv, **_options(args, ("loss_column", "metric_column", "direction", "floor",
                                                          "bootstrap", "level", "seed"))}
    if args.predict:
        arguments["predict_at"] = [_point(text) for text in args.predict]
    _analysis_outputs("downstream_prediction", get_tool("downstream_prediction").call(arguments), args, plot_downstream)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(http=args.http, host=args.host, port=args.port, allow_dirs=args.allow_dir or (),
          allow_remote=args.allow_remote)
    return 0


def _cmd_skill_install(args: argparse.Namespace) -> int:
    from .skill_install import AGENT_TARGETS, install_skill

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

def _analysis_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--level", type=float, help="confidence level of the intervals")
    p.add_argument("--seed", type=int, help="random seed of the bootstrap")
    p.add_argument("--format", choices=("json", "text"), default="json", help="json (default) or a markdown report")
    p.add_argument("--plots", metavar="DIR", help="also write the figure into DIR")
    p.add_argument("--force", action="store_true", help="replace a figure changed since it was written (kept as .bak)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scaling-design", description="Design scaling-law experiments and analyse their results.")
    parser.add_argument("--version", action="version", version=f"scaling-design {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")

    p = sub.add_parser("plan", help="run the whole strategy and write the report, design and plots")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--example", metavar="NAME", help="a built-in example input (see `examples`)")
    src.add_argument("--input", metavar="FILE.json", help="scaling_design arguments as JSON ('-' for stdin)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for report.md, plan.json, CSVs, plots")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.add_argument("--keep-results", action="store_true",
                   help="re-plan into a folder whose results template has filled rows: carry them onto the new "
                        "template where a run's settings match (the rest kept in results-unplaced.csv)")
    p.add_argument("--force", action="store_true",
                   help="replace files changed since they were written (each kept beside as NAME.bak)")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("call", help="run any registered tool on a JSON input and print its JSON output")
    p.add_argument("tool", choices=tool_names(), metavar="TOOL", help=f"one of: {', '.join(tool_names())}")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="FILE.json", help="the tool's arguments as JSON ('-' for stdin)")
    src.add_argument("--example", action="store_true", help="use the tool's documented example input")
    p.set_defaults(func=_cmd_call)

    for name in tool_names():  # each tool is also a command of its own name, '-' or '_' spelled
        dashed = name.replace("_", "-")
        p = sub.add_parser(dashed, aliases=[name] if dashed != name else [], help=f"run {name} (as `call {name}`)")
        src = p.add_mutually_exclusive_group(required=True)
        src.add_argument("--input", metavar="FILE.json", help="the tool's arguments as JSON ('-' for stdin)")
        src.add_argument("--example", action="store_true", help="use the tool's documented example input")
        p.set_defaults(func=_cmd_call, tool=name)

    p = sub.add_parser("tools", help="list the registered tools")
    p.set_defaults(func=_cmd_tools)
    p = sub.add_parser("schema", help="print a tool's input and output schema and its example")
    p.add_argument("tool", choices=tool_names(), metavar="TOOL", help=f"one of: {', '.join(tool_names())}")
    p.set_defaults(func=_cmd_schema)
    p = sub.add_parser("examples", help="list the built-in example inputs of `plan`")
    p.set_defaults(func=_cmd_examples)

    p = sub.add_parser("serve", help="run the MCP server (stdio unless --http)")
    p.add_argument("--http", action="store_true", help="streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    p.add_argument("--allow-dir", action="append", metavar="DIR", help=(
        "a directory the tools may read files from (repeatable); default: the working directory and the client's "
        "roots over stdio, none over HTTP"))
    p.add_argument("--allow-remote", action="store_true", help="allow an HTTP host outside 127.0.0.0/8 and ::1")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("fit", help="fit a scaling law to a results CSV")
    p.add_argument("csv", metavar="FILE.csv", help="results: one row per run")
    p.add_argument("--form", required=True, help=("law form (chinchilla, saturating, power, data_constrained, farseer, "
                                                  "joint_nbeta, log_linear, ...), 'auto' to choose by rolling extrapolation, "
                                                  "or an expression such as 'E + A*N**-alpha + B*D**-beta'"))
    p.add_argument("--candidates", help="with --form auto: comma-separated forms to choose among")
    p.add_argument("--outliers", choices=("flag", "exclude"), help="flag off-trend runs (default) or also refit without them")
    p.add_argument("--direction", choices=("lower_is_better", "higher_is_better"),
                   help="higher_is_better fits 1 - metric for an accuracy in (0, 1)")
    p.add_argument("--level", type=float, help="confidence level of the intervals (default 0.95)")
    p.add_argument("--time-limit", type=float, metavar="S", help="time bound on the bootstrap in seconds (default 120)")
    p.add_argument("--objective", help="huber-log (default), ls-log or ls")
    p.add_argument("--delta", type=float, help="Huber delta for huber-log (default 1e-3)")
    p.add_argument("--bootstrap", type=int, metavar="N", help="bootstrap replicates for the intervals")
    p.add_argument("--seed", type=int, help="random seed of the bootstrap")
    p.add_argument("--format", choices=("json", "text"), default="json", help="json (default) or a markdown report")
    p.add_argument("--predict", action="append", metavar="N=..,D=..",
                   help="a point to predict the loss at, e.g. N=7e10,D=1.4e12 (x=... for one-input forms); repeat")
    p.add_argument("--plots", metavar="DIR", help="also write the fit and residual figures into DIR")
    p.add_argument("--force", action="store_true", help="replace figures changed since they were written (kept as .bak)")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("allocate", help="compute-optimal N and D for one or more compute budgets")
    p.add_argument("--compute", type=float, action="append", required=True, metavar="FLOPS",
                   help="training compute budget in FLOPs; repeat for several")
    p.add_argument("--law", help=("a published law (epoch, hoffmann, ...), a fit JSON file (its bootstrap replicates give "
                                  "the intervals) or a runs CSV (default: the tool's)"))
    p.add_argument("--bootstrap", type=int, metavar="N", help="with a runs CSV law: bootstrap replicates for intervals")
    p.add_argument("--level", type=float, help="confidence level of the intervals (default 0.95)")
    p.add_argument("--inference-tokens", type=float, metavar="T",
                   help=("inference-aware (Sardana et al. 2024): lifetime inference tokens; also gives the N and D of "
                         "each budget's loss with the fewest training plus inference FLOPs"))
    p.add_argument("--unique-tokens", type=float, metavar="U",
                   help=("data-constrained (Muennighoff et al. 2023): unique tokens available; also gives the optimum "
                         "with repeated data (use --law muennighoff or a data_constrained fit JSON)"))
    p.add_argument("--plots", metavar="DIR", help="also write the allocation figure into DIR")
    p.add_argument("--force", action="store_true", help="replace a figure changed since it was written (kept as .bak)")
    p.add_argument("--format", choices=("json", "text"), default="json", help="json (default) or text")
    p.set_defaults(func=_cmd_allocate)

    p = sub.add_parser("isoflop", help="approach 2 on an isoFLOP grid beside the joint fit, with its bias and regret")
    p.add_argument("csv", metavar="FILE.csv", help="runs: N, D (or C), loss, optionally budget and role")
    p.add_argument("--target-compute", type=float, metavar="FLOPS", help="budget to compare the methods at (default 10x the largest)")
    p.add_argument("--bootstrap", type=int, metavar="N", help="bootstrap replicates of the parabolas (default 2000)")
    p.add_argument("--joint-bootstrap", type=int, metavar="N", help="bootstrap replicates of the joint fit (default 200)")
    p.add_argument("--budget-tolerance", type=float, metavar="DECADES", help="group runs into budgets by C within this (default 0.05)")
    _analysis_arguments(p)
    p.set_defaults(func=_cmd_isoflop)

    p = sub.add_parser("downstream", help="a task metric in two steps: task loss from N and D, then a sigmoid of it")
    p.add_argument("csv", metavar="FILE.csv", help="runs: N, D (or C), task loss, metric, optionally role")
    p.add_argument("--loss-column", help="column of the task loss (default loss)")
    p.add_argument("--metric-column", help="column of the metric, a fraction in [0, 1] (default accuracy)")
    p.add_argument("--direction", choices=("higher_is_better", "lower_is_better"), help="the metric's direction (default higher_is_better)")
    p.add_argument("--floor", type=float, help="fix the chance level of the sigmoid (e.g. 0.25)")
    p.add_argument("--predict", action="append", metavar="N=..,D=..", help="a point to predict the metric at; repeat")
    p.add_argument("--bootstrap", type=int, metavar="N", help="bootstrap replicates over runs, both steps refitted (default 1000)")
    _analysis_arguments(p)
    p.set_defaults(func=_cmd_downstream)

    p = sub.add_parser("skill", help="manage the agent skill documents")
    skill_sub = p.add_subparsers(dest="skill_command", required=True, parser_class=_Parser, metavar="ACTION")
    q = skill_sub.add_parser("install", help="copy SKILL.md, sops/ and tactics/ into an agent's skills folder")
    where = q.add_mutually_exclusive_group()
    where.add_argument("--agent", choices=("claude", "github"), default="claude",
                       help="claude: .claude/skills/scaling-design (default); github: .github/skills/scaling-design")
    where.add_argument("--target", metavar="DIR", help="any other skill folder, e.g. ~/.claude/skills/scaling-design")
    q.add_argument("--force", action="store_true",
                   help="replace a different skill already there (moved to skill-backups/ beside the skills folder)")
    q.set_defaults(func=_cmd_skill_install)
    return parser


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 bad input, 1 fault in the tool)."""
    from pydantic import ValidationError  # .errors is imported only on failure: it loads the numerics

    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
    except ValidationError as exc:
        from .errors import format_validation_error

        print(f"error: {_one_line(format_validation_error(exc))}", file=sys.stderr)
    except (ValueError, KeyError) as exc:  # InputError and LawInputError name their field
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {_one_line(message)}", file=sys.stderr)
    except FileNotFoundError as exc:
        print(f"error: file not found: {exc.filename}", file=sys.stderr)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a fault in a tool: still one line, never a traceback
        print(f"error: internal fault ({type(exc).__name__}: {_one_line(exc)}); please report it", file=sys.stderr)
        return EXIT_FAULT
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
