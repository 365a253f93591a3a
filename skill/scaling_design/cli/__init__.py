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

import sys
from typing import Sequence

from .base import EXIT_BAD_INPUT, EXIT_FAULT, UsageError
from .commands import write_plan_files
from .inputs import example_names, load_example
from .parser import build_parser

__all__ = ["main", "example_names", "load_example", "build_parser", "write_plan_files"]


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
        from ..errors import format_validation_error

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
