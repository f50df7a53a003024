"""
The control API of a real twistd process: tested against its OpenAPI
description with schemathesis, and fed bad input over raw sockets; none
of it may leave a traceback in the log.
"""

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from responder.client import ControlClient, ControlError

from .._server import (
    REPO,
    ServerProcess,
    readAll,
    request,
    runningServer,
    twistdCommand,
)

TOKEN = "s3cret-token"
SCHEMA = schemathesis.openapi.from_path(REPO / "docs" / "control-api.yaml")
# Rules are TOML text: sent as it is, as text/plain is.
schemathesis.serializer.alias("application/toml", "text/plain")
_ADMIN = r"listening on 127\.0\.0\.1:(\d+) for the control API"


class Served:
    def __init__(self, process: ServerProcess) -> None:
        self.process = process
        self.port = process.listeningPorts()[0]
        line = process.waitFor(_ADMIN)[0]
        self.admin = int(line.rsplit(":", 1)[1].split()[0])
        self.control = ControlClient(str(self.admin), TOKEN)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    argv = twistdCommand(
        "--port", "tcp:0:interface=127.0.0.1",
        "--admin", "tcp:0:interface=127.0.0.1",
        "--admin-token", TOKEN,
    )  # fmt: skip
    with runningServer(argv) as process:
        yield Served(process)
        log = process.output()
        assert "Traceback" not in log and "Unhandled" not in log, log


@SCHEMA.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_matches_its_openapi_description(
    case: schemathesis.Case[Any], served: Served
) -> None:
    response = case.call(
        base_url=f"http://127.0.0.1:{served.admin}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    # A string the schema allows is rarely a valid rules file (TOML, then
    # the rules' own checks): PUT /rules may refuse it with a 400.
    excluded = [positive_data_acceptance] if case.path == "/rules" else []
    case.validate_response(response, excluded_checks=excluded)
    assert response.status_code < 500


def raw(port: int, data: bytes) -> bytes:
    """
    Send C{data} and read the answer until the server closes.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(data)
        return readAll(client)


def test_a_big_body_is_refused_before_it_is_sent(served: Served) -> None:
    """
    Only the head is sent: the 413 comes (and the connection closes)
    without waiting for a byte of the 10 MB body.
    """
    head = (
        f"PUT /rules HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Length: 10000000\r\n\r\n"
    )
    answer = raw(served.admin, head.encode())
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert answer.endswith(b'{"error": "the body is over 1048576 bytes"}\n')


@pytest.mark.parametrize(
    "data, status",
    [
        (b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n", b"400"),
        (b"GET /requests\xff HTTP/1.1\r\nHost: x\r\n", b"400"),
        (b"BREW /requests HTTP/1.1\r\nHost: x\r\n", b"401"),
        (b"\xff\xfe\r\n", b"400"),
        (b"GET /requests HTTP/1.1\r\nHost: x\r\nAuthorization: \xff\r\n", b"401"),
        (
            f"BREW /requests HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n".encode(),
            b"405",
        ),
    ],
)
def test_garbage_gets_a_4xx(served: Served, data: bytes, status: bytes) -> None:
    answer = raw(served.admin, data + b"Connection: close\r\n\r\n")
    assert answer.split(b" ")[1] == status


def test_bad_input_with_the_token(served: Served) -> None:
    control = served.control
    cases = [
        ("PUT", "/rules", b"[[rule]\n", "400 rules:1: invalid TOML"),
        ("PUT", "/rules", b"\xc3\x28", "400 rules:1: not UTF-8 text (byte 0xc3)"),
        ("GET", "/requests?since=x", None, "400 since 'x' is not an ISO 8601 time"),
        ("GET", "/nope/%C3%A9", None, "404 no such path '/nope/%C3%A9'"),
        ("DELETE", "/health", None, "405 DELETE is not allowed here"),
    ]
    for method, path, body, message in cases:
        with pytest.raises(ControlError) as raised:
            control.call(method, path, body)
        assert str(raised.value).startswith(f"{method} {path}: {message}")
    wrong = ControlClient(str(served.admin), "wrong")
    with pytest.raises(ControlError, match="401 a valid bearer token is required"):
        wrong.health()


def test_journal_and_rules_over_tcp(served: Served) -> None:
    control = served.control
    control.reset()
    control.putRules('[[rule]]\nname = "p"\nequals = "PING"\nresponse = "PONG"\n')
    assert request(served.port, b"PING\0") == b"PONG\0"
    assert request(served.port, b"x\xff\x01\0ignored") == b"This is the response\0"
    first, second = control.waitForRequests(2)
    assert (first.data, first.rule, first.ruleName) == (b"PING", 1, "p")
    assert (second.data, second.request, second.rule) == (
        b"x\xff\x01",
        "x\\xff\\x01",
        None,
    )
    assert first.peer.startswith("127.0.0.1:")
    control.clear()
    assert control.recorded() == []
    control.reset()
    assert control.rules() == ""
    assert request(served.port, b"PING\0") == b"This is the response\0"


def test_unix_admin_socket(tmp_path: Path) -> None:
    path = tmp_path / "admin.sock"
    argv = twistdCommand(
        "--port", "tcp:0:interface=127.0.0.1", "--admin", f"unix:{path}"
    )  # fmt: skip
    with runningServer(argv) as process:
        port = process.listeningPorts()[0]
        process.waitFor("for the control API")
        request(port, b"over unix\0")
        control = ControlClient(f"unix:{path}")
        assert [entry.data for entry in control.waitForRequests(1)] == [b"over unix"]


def test_refused_at_start_without_a_token() -> None:
    argv = twistdCommand("--port", "tcp:0:interface=127.0.0.1", "--admin", "tcp:0")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "responder: --admin: tcp:0:backlog=4096 is not a loopback or unix endpoint"
    )
    assert "Traceback" not in result.stderr + result.stdout
