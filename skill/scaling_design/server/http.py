"""Serving: stdio, or streamable HTTP with DNS-rebinding protection for whatever host is bound.

The SDK turns its Host/Origin check on only for 127.0.0.1, localhost and ::1; here the allowed
lists always follow the bound host and port (plus the loopback names for a loopback host, and
the machine's own names and addresses for 0.0.0.0 or ::), so a page that rebinds its own name
to this port gets 421. A host outside
127.0.0.0/8 and ::1 is refused unless ``allow_remote`` is set.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import socket

import anyio
from mcp.server.transport_security import TransportSecuritySettings

from .app import build_server
from .roots import FileAccess

__all__ = ["serve", "is_loopback", "transport_security", "RemoteHostRefused"]

logger = logging.getLogger("scaling_design.server")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = ("0.0.0.0", "::")


class RemoteHostRefused(ValueError):
    """Binding outside the loopback addresses without --allow-remote."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and names that resolve only to them."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def _host_literal(host: str) -> str:
    bare = host.strip("[]")
    try:
        return f"[{bare}]" if ipaddress.ip_address(bare).version == 6 else bare
    except ValueError:
        return host


def _machine_names() -> list[str]:
    """This machine's own names and addresses: what a client reaching a wildcard bind puts in Host."""
    names = [socket.gethostname(), socket.getfqdn()]
    try:
        names += [info[4][0].split("%")[0] for info in socket.getaddrinfo(socket.gethostname(), None)]
    except OSError:
        pass
    return names


def transport_security(host: str, port: int) -> TransportSecuritySettings:
    """Host and Origin values a request may carry: the bound host:port, loopback names for a loopback
    bind, and the machine's own names and addresses for a wildcard bind (0.0.0.0 or ::)."""
    names = [_host_literal(host)]
    if is_loopback(host) or host.strip("[]") in WILDCARDS:
        names += list(LOOPBACK_NAMES)
    if host.strip("[]") in WILDCARDS:
        names += [_host_literal(n) for n in _machine_names()]
    names = list(dict.fromkeys(names))
    hosts = [f"{n}:{port}" for n in names]
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def check_host(host: str, allow_remote: bool) -> None:
    if not allow_remote and not is_loopback(host):
        raise RemoteHostRefused(f"--host {host} is not a loopback address (127.0.0.0/8 or ::1): any machine that can "
                                "reach it could call the tools; pass --allow-remote to serve it anyway")


class JsonRpcBodyCheck:
    """ASGI middleware: a POST whose body is not a JSON-RPC 2.0 message (or batch) gets the protocol's own
    -32600 / -32700 error, never the transport's validation text."""

    def __init__(self, app, allowed_hosts: list[str], max_body: int = 4 * 1024 * 1024):
        self.app, self.allowed_hosts, self.max_body = app, set(allowed_hosts), max_body

    async def __call__(self, scope, receive, send):
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        if scope["type"] != "http" or scope.get("method") != "POST" or host not in self.allowed_hosts:
            return await self.app(scope, receive, send)  # the transport's own checks answer (421 for a bad Host)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_body:
                return await _send_json(send, 413, {"jsonrpc": "2.0", "id": None, "error": {
                    "code": -32600, "message": f"Invalid Request: the body is over {self.max_body:,} bytes"}})
        body = b"".join(chunks)
        problem = _jsonrpc_problem(body)
        if problem is not None:
            return await _send_json(send, 400, {"jsonrpc": "2.0", "id": None, "error": problem})
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _jsonrpc_problem(body: bytes) -> dict | None:
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {"code": -32700, "message": "Parse error: the body must be JSON"}
    batch = message if isinstance(message, list) else [message]
    if not batch or not all(isinstance(m, dict) and m.get("jsonrpc") == "2.0" and ("method" in m or "id" in m)
                            for m in batch):
        return {"code": -32600, "message": "Invalid Request: the body must be a JSON-RPC 2.0 message "
                                           "(an object with jsonrpc '2.0' and a method, or a response with an id)"}
    return None


async def _send_json(send, status: int, payload: dict) -> None:
    data = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def http_app(host: str = "127.0.0.1", port: int = 8765, allow_dirs: list[str] | tuple[str, ...] = (),
             allow_remote: bool = False):
    """The Starlette app serving /mcp with the host check and HTTP's file-access rule."""
    check_host(host, allow_remote)
    server = build_server(access=FileAccess.for_transport(http=True, allow_dirs=allow_dirs))
    security = transport_security(host, port)
    app = server.streamable_http_app(host=host, transport_security=security)
    app.add_middleware(JsonRpcBodyCheck, allowed_hosts=security.allowed_hosts)
    return app


async def _serve_stdio(server) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def serve(http: bool = False, host: str = "127.0.0.1", port: int = 8765,
          allow_dirs: list[str] | tuple[str, ...] = (), allow_remote: bool = False) -> None:
    """Serve over stdio (default) or streamable HTTP at http://HOST:PORT/mcp."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not http:
        anyio.run(_serve_stdio, build_server(access=FileAccess.for_transport(http=False, allow_dirs=allow_dirs)))
        return
    import uvicorn

    app = http_app(host, port, allow_dirs, allow_remote)
    logger.info("serving streamable HTTP at http://%s:%d/mcp", _host_literal(host), port)
    uvicorn.run(app, host=host.strip("[]"), port=port, log_level="warning")
