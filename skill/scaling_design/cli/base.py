"""Exit codes and the parser that reports a mistake on one line."""
from __future__ import annotations

import argparse



EXIT_BAD_INPUT = 2
EXIT_FAULT = 1


class UsageError(Exception):
    """A command-line mistake: the message names the option or field."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise UsageError(f"{self.prog}: {message}")
