"""MCP server built from the tool registry: wiring only, no science.

app (the low-level server and one call's bounds), schemas (the tool list and its cache),
errors (what a failed call says), docs (prompts and resources), roots (which directories a
call may read), http (serving stdio or streamable HTTP, with the host checks).
"""
from __future__ import annotations

from .app import SERVER_NAME, build_server
from .errors import tool_error_text
from .http import RemoteHostRefused, serve
from .roots import FileAccess
from .schemas import flat_input_schema

__all__ = ["build_server", "serve", "flat_input_schema", "tool_error_text", "SERVER_NAME", "FileAccess",
           "RemoteHostRefused"]
