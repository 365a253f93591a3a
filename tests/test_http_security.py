"""Streamable HTTP: DNS-rebinding protection follows whatever host is bound; remote hosts need --allow-remote."""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from scaling_design.server.http import check_host, is_loopback, transport_security

INIT = (b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        b'"capabilities":{},"clientInfo":{"name":"t","version":"0"}}}')


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scaling_design", "serve", "--http", *args],
                            env={**os.environ, "SCALING_DESIGN_CACHE": "off"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait_up(proc: subprocess.Popen, host: str, port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "the HTTP server did not come up"
            time.sleep(0.1)


def _post(connect: str, port: int, host_header: str, body: bytes = INIT) -> tuple[int, str]:
    conn = http.client.HTTPConnection(connect, port, timeout=10)
    conn.putrequest("POST", "/mcp", skip_host=True)
    for key, value in (("Host", host_header), ("Content-Type", "application/json"),
                       ("Accept", "application/json, text/event-stream"), ("Content-Length", str(len(body)))):
        conn.putheader(key, value)
    conn.endheaders(body)
    response = conn.getresponse()
    status, text = response.status, response.read().decode(errors="replace")
    conn.close()
    return status, text


def test_the_allowed_hosts_follow_the_bound_host_and_port():
    settings = transport_security("127.0.0.2", 8123)
    assert settings.enable_dns_rebinding_protection
    assert "127.0.0.2:8123" in settings.allowed_hosts and "localhost:8123" in settings.allowed_hosts
    assert all(h.endswith(":8123") for h in settings.allowed_hosts)
    assert "http://127.0.0.2:8123" in settings.allowed_origins
    wildcard = transport_security("0.0.0.0", 80).allowed_hosts
    assert f"{socket.gethostname()}:80" in wildcard and "localhost:80" in wildcard
    assert not any(h.startswith("evil.example") for h in wildcard)
    assert transport_security("::1", 80).allowed_hosts[0] == "[::1]:80"


def test_only_loopback_hosts_are_served_without_allow_remote():
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("::")
    with pytest.raises(ValueError, match="--allow-remote"):
        check_host("0.0.0.0", allow_remote=False)
    check_host("0.0.0.0", allow_remote=True)


def test_serving_0_0_0_0_without_allow_remote_is_refused():
    proc = _serve("--host", "0.0.0.0", "--port", str(_free_port("127.0.0.1")))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "--allow-remote" in err


@pytest.mark.slow
def test_a_rebinding_host_header_gets_421_at_127_0_0_2_and_at_0_0_0_0_with_allow_remote():
    servers = []
    for bind, connect, extra in (("127.0.0.2", "127.0.0.2", ()), ("0.0.0.0", "127.0.0.1", ("--allow-remote",))):
        port = _free_port(connect)
        servers.append((_serve("--host", bind, "--port", str(port), *extra), bind, connect, port))
    try:
        for proc, bind, connect, port in servers:
            _wait_up(proc, connect, port)
            assert _post(connect, port, "evil.example")[0] == 421
            assert _post(connect, port, f"evil.example:{port}")[0] == 421
            assert _post(connect, port, f"evil.example:{port}", b'{"not": "json-rpc"}')[0] == 421
            assert _post(connect, port, f"{bind}:{port}")[0] == 200
        proc, bind, connect, port = servers[0]
        for body, code in ((b'{"not": "json-rpc"}', -32600), (b"not json", -32700), (b"[]", -32600)):
            status, text = _post(connect, port, f"{bind}:{port}", body)
            assert status == 400 and json.loads(text)["error"]["code"] == code
            assert "validation error" not in text.lower() and "Error" not in text
    finally:
        for proc, *_ in servers:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _session(port: int) -> dict[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}
    conn.request("POST", "/mcp", INIT, headers)
    response = conn.getresponse()
    headers["mcp-session-id"] = response.getheader("mcp-session-id")
    response.read()
    conn.request("POST", "/mcp", b'{"jsonrpc":"2.0","method":"notifications/initialized"}', headers)
    conn.getresponse().read()
    conn.close()
    return headers


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads the server's CPU time from /proc")
def test_a_call_abandoned_by_a_disconnected_http_client_stops_its_work():
    """The client sends a call of a minute's work and drops the connection: the server goes idle at once
    (before, a core stayed busy until the call's own time limit)."""
    from expensive_inputs import expensive_inputs

    port = _free_port("127.0.0.1")
    proc = _serve("--port", str(port))
    try:
        _wait_up(proc, "127.0.0.1", port)
        headers = _session(port)
        args = {**expensive_inputs("unused.csv")["budget_constrained_design"], "time_limit_s": 60}
        body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                           "params": {"name": "budget_constrained_design", "arguments": args}}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.5)
        conn.request("POST", "/mcp", body, headers)
        with pytest.raises((TimeoutError, socket.timeout)):
            conn.getresponse().read()
        conn.close()  # the client is gone
        time.sleep(1.0)
        before = _cpu_seconds(proc.pid)
        time.sleep(3.0)
        assert _cpu_seconds(proc.pid) - before < 0.5  # idle, not a core busy for the minute asked
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
