"""The argument parser: one subcommand per command and per registered tool."""
from __future__ import annotations

import argparse

from .. import __version__
from ..tools import tool_names
from .base import _Parser
from .commands import (_cmd_allocate, _cmd_call, _cmd_downstream, _cmd_examples, _cmd_fit, _cmd_isoflop, _cmd_plan,
                       _cmd_schema, _cmd_serve, _cmd_skill_install, _cmd_tools)


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
