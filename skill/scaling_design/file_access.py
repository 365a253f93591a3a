"""The file-access rule: which paths a tool may read when a server runs it.

Outside a server (the library, the CLI) nothing is confined: a path is the user's own and is
read as given. A server runs each call inside ``confined(roots)``: a path is then resolved
(``~``, ``..`` and every symlink) and read only when the resolved file lies inside one of the
roots; a refused path is named, never opened or even tested for existence. An empty tuple of
roots turns path inputs off (HTTP without ``--allow-dir``).

Errors about what a file holds never quote it: readers say the column, the row number and the
type expected (see ``quote_content``).
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from .errors import InputError

__all__ = ["MAX_FILE_BYTES", "confined", "allowed_roots", "read_text", "quote_content"]

MAX_FILE_BYTES = 64 * 1024 * 1024  # a 100,000-run CSV is a few MB

Roots = Iterable[str | os.PathLike]


class _Rule:
    """The allowed directories, resolved (symlinks too) the first time a file is read."""

    def __init__(self, source: Roots | Callable[[], Roots]):
        self._source, self._roots = source, None

    def roots(self) -> tuple[Path, ...]:
        if self._roots is None:
            raw = self._source() if callable(self._source) else self._source
            self._roots = tuple(dict.fromkeys(Path(os.path.realpath(Path(r).expanduser())) for r in raw))
        return self._roots


_RULE: ContextVar[_Rule | None] = ContextVar("scaling_design_file_rule", default=None)


@contextmanager
def confined(roots: Roots | Callable[[], Roots]) -> Iterator[None]:
    """Read files only inside these directories for the duration of the block.

    ``roots`` may be a callable, asked only when a file is first read (a server asks its client)."""
    token = _RULE.set(_Rule(roots))
    try:
        yield
    finally:
        _RULE.reset(token)


def allowed_roots() -> tuple[Path, ...] | None:
    """The directories files may be read from; None when unconfined."""
    rule = _RULE.get()
    return None if rule is None else rule.roots()


def quote_content() -> bool:
    """Whether an error may quote a file's content (only outside a server: the user's own file)."""
    return _RULE.get() is None


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _refuse(field: str, given: str, roots: tuple[Path, ...]) -> InputError:
    if not roots:
        return InputError(field, f"{field} {given!r} is refused: this server reads no files (an HTTP server reads "
                                 "only under directories given with --allow-dir); pass the content inline instead")
    shown = ", ".join(str(r) for r in roots)
    return InputError(field, f"{field} {given!r} is outside the directories this server may read ({shown}); move the "
                             "file under one of them, pass its content inline, or start the server with --allow-dir DIR")


def _resolve(given: str, field: str) -> Path:
    try:
        return Path(os.path.realpath(Path(given).expanduser()))
    except (OSError, ValueError, RuntimeError):  # NUL bytes, loops, names too long
        raise InputError(field, f"{field} must be a file path; got an unusable path") from None


def read_text(given: str, field: str, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a file, refused without reading when the rule forbids it."""
    roots = allowed_roots()
    path = _resolve(given, field)
    if roots is not None and not _inside(path, roots):
        raise _refuse(field, given, roots)
    too_big = InputError(field, f"{field} {given!r} must be a regular file of at most {max_bytes:,} bytes")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO or device must not block the call
    except OSError:
        raise InputError(field, f"{field} {given!r} is not a readable file") from None
    try:
        _still_inside(fd, roots, field, given)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            raise too_big
        data = _read_all(fd, max_bytes + 1)
    except OSError:
        raise InputError(field, f"{field} {given!r} is not a readable file") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise too_big
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(field, f"{field} {given!r} is not UTF-8 text (undecodable byte at offset {exc.start})") from None


def _read_all(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _still_inside(fd: int, roots: tuple[Path, ...] | None, field: str, given: str) -> None:
    """The file actually opened is inside the roots (a symlink swapped in after the check is caught)."""
    if roots is None:
        return
    link = f"/proc/self/fd/{fd}"
    if os.path.exists(link) and not _inside(Path(os.path.realpath(link)), roots):
        raise _refuse(field, given, roots)
