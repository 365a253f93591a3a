"""Which directories a served call may read files from (see ``file_access``).

stdio: the directories given with ``--allow-dir``, plus the client's MCP roots when it
offers them; with neither, the server's working directory. HTTP: only ``--allow-dir``
directories (any local process can reach an HTTP port and claim any roots), so path inputs
are off unless a directory is allowed explicitly.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
import anyio.from_thread

__all__ = ["FileAccess", "client_roots"]

logger = logging.getLogger("scaling_design.server")
ROOTS_TIMEOUT_S = 5.0


async def client_roots(ctx: Any) -> list[Path]:
    """The client's file:// roots, or [] when it offers none (or does not answer in time)."""
    session = getattr(ctx, "session", None)
    params = getattr(session, "client_params", None)
    if params is None or getattr(params.capabilities, "roots", None) is None:
        return []
    try:
        with anyio.fail_after(ROOTS_TIMEOUT_S):
            listed = await session.list_roots()
    except Exception:  # a client that cannot answer gets the default rule, never wider access
        logger.info("the client's roots could not be listed", exc_info=True)
        return []
    paths = []
    for root in listed.roots:
        uri = urlparse(str(root.uri))
        if uri.scheme == "file" and uri.netloc in ("", "localhost"):
            paths.append(Path(unquote(uri.path)))
    return paths


@dataclass(frozen=True)
class FileAccess:
    """The server's rule: explicit directories, whether client roots count, the default."""

    allow_dirs: tuple[Path, ...] = field(default_factory=tuple)
    use_client_roots: bool = True
    default_to_cwd: bool = True

    @classmethod
    def for_transport(cls, http: bool, allow_dirs: list[str] | tuple[str, ...] = ()) -> FileAccess:
        dirs = tuple(Path(d).expanduser().resolve() for d in allow_dirs)
        if http:
            return cls(dirs, use_client_roots=False, default_to_cwd=False)
        return cls(dirs)

    def roots_provider(self, ctx: Any):
        """A callable for ``file_access.confined``: asked from the worker thread, only when a file is read."""
        def provide() -> list[Path]:
            roots = list(self.allow_dirs)
            offered = anyio.from_thread.run(client_roots, ctx) if self.use_client_roots and ctx is not None else []
            roots += offered
            if not roots and self.default_to_cwd:
                roots.append(Path(os.getcwd()))
            return roots
        return provide
