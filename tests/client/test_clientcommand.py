"""
C{responder-client}, as a user runs it against a running responder.
"""

import os
import pty
import socket
import subprocess
from pathlib import Path

from .._server import BIN, runningServer, twistdCommand

RESPONSE = "This is the response\\x00\n"


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


def test_keep_alive_server_over_tcp6() -> None:
    """
    The server's own C{tcp6:} description reaches it, and a keep-alive
    server, which does not close, is answered: the client stops at the
    response's NUL.  Options may follow the arguments.
    """
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        host = "::1"
    except OSError:  # no IPv6 loopback here: the rest still counts
        host = "127.0.0.1"
    interface = host.replace(":", "\\:")
    argv = twistdCommand("--keep-alive", "--port", f"tcp6:0:interface={interface}")
    if host == "127.0.0.1":
        argv = twistdCommand("--keep-alive", "--port", "tcp:0:interface=127.0.0.1")
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        endpoint = f"tcp6:{interface}:{port}" if host == "::1" else str(port)
        one = client(endpoint, "hello", "--timeout", "5")
        assert (one.returncode, one.stdout, one.stderr) == (0, RESPONSE, "")
        burst = client(endpoint, "hi", "--count", "3", "-c", "2", "--timeout", "5")
        assert burst.returncode == 0, burst.stderr
        assert burst.stdout.startswith("3 of 3 answered, 0 failed in ")


def test_until_close(tmp_path: Path) -> None:
    """
    C{--terminator close} reads on past the NUL, until the server closes.
    """
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nprefix = ""\nresponse_hex = "61 00 62"\n')
    argv = twistdCommand("--port", "tcp:0:interface=127.0.0.1", "--rules", str(rules))
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        cut = client(str(port), "x")
        whole = client("--terminator", "close", str(port), "x")
    assert (cut.stdout, whole.stdout) == ("a\\x00\n", "a\\x00b\\x00\n")


def test_progress_on_a_terminal() -> None:
    """
    With C{--count} and stderr a terminal, progress shows on one line,
    which is cleared at the end; not so when stderr is a pipe (above).
    """
    argv = twistdCommand("--port", "tcp:0:interface=127.0.0.1")
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        controller, terminal = pty.openpty()
        try:
            result = subprocess.run(
                [str(BIN / "responder-client"), "--count", "20", str(port)],
                stdout=subprocess.PIPE, stderr=terminal, text=True, timeout=60,
            )  # fmt: skip
            os.close(terminal)
            shown = b""
            while True:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # EIO: the terminal has no writer left
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(controller)
    assert result.returncode == 0
    assert result.stdout.startswith("20 of 20 answered")
    assert b"\r0 of 20 done, 0 failed" in shown
    assert shown.endswith(b"\r\x1b[K")
