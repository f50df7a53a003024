"""
C{responder-client}, as a user runs it against a running responder.
"""

import socket
import subprocess

from .._server import BIN, runningServer, twistdCommand


def client(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "responder-client"), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_one_request_and_a_burst() -> None:
    argv = twistdCommand("--port", "tcp:0:interface=127.0.0.1", "--response", "hé\x1b")
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        one = client(str(port), "hello")
        assert (one.returncode, one.stdout, one.stderr) == (0, "hé\\x1b\\x00\n", "")
        server.waitFor(r" hello$")
        burst = client(
            "--count", "200", "--concurrency", "20", f"tcp:127.0.0.1:{port}", "x"
        )
        assert burst.returncode == 0, burst.stderr
        assert burst.stdout.startswith("200 of 200 answered, 0 failed in ")


def test_connection_refused() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = client(str(port))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Connection was refused" in result.stderr


def test_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        result = client("--timeout", "0.3", str(silent.getsockname()[1]), "anyone?")
    assert result.returncode == 1
    assert "no answer within 0.3 s" in result.stderr


def test_bad_option() -> None:
    result = client("--count", "none")
    assert result.returncode == 1
    assert result.stderr.startswith("responder-client: ")
    assert "Traceback" not in result.stderr


def assertOneLine(result: subprocess.CompletedProcess[str], text: str) -> None:
    """
    C{result} failed with exit status 1 and one line on stderr, holding
    C{text}.
    """
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_endpoint() -> None:
    assertOneLine(
        client("foo:bar", "x"),
        "responder-client: bad endpoint 'foo:bar': Unknown endpoint type: 'foo'",
    )
    assertOneLine(client("tcp:127.0.0.1", "x"), "bad endpoint 'tcp:127.0.0.1': ")


def test_port_out_of_range() -> None:
    assertOneLine(client("tcp:127.0.0.1:99999", "x"), "port must be 0-65535")


def test_tls_handshake_fails() -> None:
    """
    TLS to a server that does not speak it: the handshake fails, in one
    line.
    """
    argv = twistdCommand("--port", "tcp:0:interface=127.0.0.1")
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        result = client(f"tls:127.0.0.1:{port}", "hello")
    assertOneLine(result, "Connection to the other side was lost")


def test_version() -> None:
    result = client("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("responder-client 0.")
