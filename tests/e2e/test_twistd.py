"""
responder as operators run it: C{twistd -n responder}, C{twist responder}
and the tac file, as real processes on loopback.  Also the peers it runs
with: systemd socket activation and a real HAProxy in front.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .._server import (
    BIN,
    REPO,
    ServerProcess,
    freePort,
    readAll,
    request,
    runningServer,
    twistdCommand,
)

RESPONSE = b"This is the response\0"
LOOPBACK = "tcp:0:interface=127.0.0.1"


def assertCleanStop(server: ServerProcess, sig: int = signal.SIGTERM) -> None:
    """
    A signal stops the server the way twistd does: shutdown lines in the
    log, no traceback, and the exit status of a process killed by C{sig}
    (twistd re-raises the signal once the reactor has stopped).
    """
    status = server.stop(sig)
    output = server.output()
    assert status == 128 + sig, output
    assert "Traceback" not in output, output
    assert "Main loop terminated." in output, output


def test_serves_and_prints_requests() -> None:
    """
    The exact bytes go out, and each request is one escaped line on stdout
    with the peer address.
    """
    with runningServer(twistdCommand("--port", LOOPBACK)) as server:
        [port] = server.listeningPorts()
        assert request(port, b"hello\0") == RESPONSE
        assert request(port, b"evil\r\n[forged]\x1b[31m\0") == RESPONSE
        server.waitFor(r"\] 127\.0\.0\.1:\d+ hello$")
        [evil] = server.waitFor(r"evil")
        assert evil.endswith(" evil\\r\\n[forged]\\x1b[31m"), evil
        assertCleanStop(server)


def test_request_lines_follow_logfile(tmp_path: Path) -> None:
    """
    With C{--logfile}, request lines go through twisted.logger into that
    file, like every other log line, and not to stdout.
    """
    logfile = tmp_path / "responder.log"
    argv = twistdCommand("--port", LOOPBACK)
    argv.insert(argv.index("responder"), f"--logfile={logfile}")
    with runningServer(argv) as server:
        deadline = time.monotonic() + 15
        while "listening on" not in (logfile.read_text() if logfile.exists() else ""):
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.05)
        port = int(logfile.read_text().split("listening on 127.0.0.1:")[1].split()[0])
        assert request(port, b"to the file\0") == RESPONSE
        assert server.stop() == 128 + signal.SIGTERM
    log = logfile.read_text()
    assert "[responder#info] 127.0.0.1:" in log
    assert " to the file" in log
    assert "Main loop terminated." in log
    assert "Traceback" not in log
    assert "to the file" not in server.output()


def jsonLines(output: str) -> list[dict[str, object]]:
    """
    Every line of C{output} parsed as JSON: each must be an object.
    """
    records = [json.loads(line) for line in output.splitlines()]
    assert all(isinstance(record, dict) for record in records)
    return records


@pytest.mark.parametrize("runner", ["twistd", "twist"])
def test_json_log(runner: str) -> None:
    """
    With C{--log-format json} every line on stdout is a JSON object, the
    runner's own lines included, and request lines carry the peer, the
    escaped request and the outcome.
    """
    options = ["--port", LOOPBACK, "--log-format", "json"]
    if runner == "twistd":
        argv = twistdCommand(*options)
    else:
        argv = [str(BIN / "twist"), "responder", *options]
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        assert request(port, b"json\x1b\0") == RESPONSE
        server.waitFor(r'"outcome": "answered"')
        assert server.stop() == 128 + signal.SIGTERM
    records = jsonLines(server.output())
    [answered] = [r for r in records if r.get("outcome") == "answered"]
    assert answered["request"] == "json\\x1b"
    assert str(answered["peer"]).startswith("127.0.0.1:")
    assert {"time", "level", "namespace", "message"} <= set(answered)
    assert any("listening on" in str(r["message"]) for r in records)


def test_json_log_needs_stdout() -> None:
    argv = [str(BIN / "twistd"), "--pidfile=", "responder", "--log-format", "json"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 1
    assert result.stderr == (
        "responder: --log-format: --log-format json writes to stdout, which a "
        "daemon closes: run twistd with --nodaemon\n"
    )


def scrape(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        page = readAll(client).decode()
    assert page.startswith("HTTP/1.0 200 OK"), page
    return page


@pytest.mark.parametrize("workers", ["1", "2"])
def test_metrics_scrape(workers: str) -> None:
    """
    C{--metrics} serves Prometheus text; after a known number of requests
    the counters say so.  With workers, each writes its counters once a
    second and the parent adds them up.
    """
    argv = twistdCommand(
        "--port", LOOPBACK, "--metrics", LOOPBACK, "--quiet", "--workers", workers
    )  # fmt: skip
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        [line] = server.waitFor(r"listening on 127\.0\.0\.1:\d+ for metrics")
        metrics = int(line.rsplit(":", 1)[1].split()[0])
        if workers != "1":
            server.waitFor(r"worker \d \(pid \d+\) ready", count=int(workers))
        for _ in range(7):
            assert request(port, b"count me\0") == RESPONSE
        deadline = time.monotonic() + 10
        while "\nresponder_requests_total 7.0\n" not in (page := scrape(metrics)):
            assert time.monotonic() < deadline, page
            time.sleep(0.2)
        assertCleanStop(server)
    assert '\nresponder_responses_total{outcome="answered"} 7.0\n' in page
    assert "\nresponder_active_connections 0.0\n" in page
    assert "\nresponder_sent_bytes_total 147.0\n" in page


def _interruptible() -> None:
    """
    Give the child the default SIGINT: a shell that starts a command in
    the background has it ignore SIGINT, and twistd leaves an ignored
    SIGINT ignored, as it should (run from such a shell, the suite would
    otherwise wait for a stop that never comes).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint() -> None:
    with runningServer(
        twistdCommand("--port", LOOPBACK), preexec=_interruptible
    ) as server:
        [port] = server.listeningPorts()
        assert request(port, b"x") == RESPONSE
        assertCleanStop(server, signal.SIGINT)


def test_several_endpoints_and_options() -> None:
    """
    C{--listen} adds endpoints; options reach the wire.
    """
    argv = twistdCommand(
        "--port", LOOPBACK, "--listen", LOOPBACK, "--response", "pong", "--quiet"
    )
    with runningServer(argv) as server:
        first, second = server.listeningPorts(2)
        assert first != second
        assert request(first, b"ping") == b"pong\0"
        assert request(second, b"ping") == b"pong\0"
        assertCleanStop(server)
        assert "ping" not in server.output()


def test_request_in_flight_survives_sigterm() -> None:
    """
    SIGTERM stops accepting at once but lets an open connection finish:
    a client that connected before the signal and sends after it still
    gets its whole response.
    """
    with runningServer(twistdCommand("--port", LOOPBACK)) as server:
        [port] = server.listeningPorts()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            assert request(port, b"warm-up") == RESPONSE
            server.process.send_signal(signal.SIGTERM)
            server.waitFor(r"waiting up to 10 s for 1 open connections")
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=10).close()
            client.sendall(b"late\0")
            assert readAll(client) == RESPONSE
        assertCleanStop(server)
        server.waitFor(r" late$")


def test_drain_deadline() -> None:
    """
    A connection that stays silent past the drain timeout is aborted (the
    client sees a reset), and the server still exits cleanly.
    """
    argv = twistdCommand("--port", LOOPBACK, "--drain-timeout", "0.5")
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            assert request(port, b"warm-up") == RESPONSE
            started = time.monotonic()
            assertCleanStop(server)
            assert time.monotonic() - started < 10
            with pytest.raises(ConnectionResetError):
                client.recv(100)
        server.waitFor(r"aborting 1 connections that did not finish in time")


def test_twist() -> None:
    """
    The newer C{twist} runner works too.
    """
    argv = [str(BIN / "twist"), "--log-format", "text", "responder", "--port", LOOPBACK]
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        assert request(port, b"twist\0") == RESPONSE
        server.waitFor(r" twist$")
        status = server.stop()
        assert status == 128 + signal.SIGTERM
        assert "Traceback" not in server.output()


def test_tac() -> None:
    """
    C{twistd -ny tac/responder.tac}, configured by the environment.
    """
    argv = [str(BIN / "twistd"), "--nodaemon", "--pidfile=", "-y", "tac/responder.tac"]
    env = {"RESPONDER_PORT": LOOPBACK, "RESPONDER_RESPONSE": "from tac"}
    with runningServer(argv, env) as server:
        [port] = server.listeningPorts()
        assert request(port, b"hi") == b"from tac\0"
        server.waitFor(r" hi$")
        assertCleanStop(server)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--port", "99999"], "--port: port 99999 is out of range (0-65535)"),
        (
            ["--listen", "nonsense:1"],
            "--listen: bad endpoint 'nonsense:1': Unknown endpoint type: 'nonsense'",
        ),
        (
            ["--port", "systemd:domain=INET:index=0"],
            "--port: bad endpoint 'systemd:domain=INET:index=0': systemd passed"
            " no such socket (see LISTEN_FDS and LISTEN_FDNAMES; name the socket"
            " with FileDescriptorName=)",
        ),
        (["--timeout", "soon"], "--timeout: 'soon' is not a number of seconds"),
        (["--no-such-option"], "option --no-such-option not recognized"),
    ],
)
def test_bad_options(arguments: list[str], expected: str) -> None:
    """
    A bad option exits non-zero with one line that names it: no usage
    dump, no traceback.
    """
    result = subprocess.run(
        twistdCommand(*arguments), capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"responder: {expected}\n"


def test_tac_json_log() -> None:
    argv = [str(BIN / "twistd"), "--nodaemon", "--pidfile=", "-y", "tac/responder.tac"]
    env = {"RESPONDER_PORT": LOOPBACK, "RESPONDER_LOG_FORMAT": "json"}
    with runningServer(argv, env) as server:
        [port] = server.listeningPorts()
        assert request(port, b"from tac") == RESPONSE
        server.waitFor(r'"request": "from tac"')
        assert server.stop() == 128 + signal.SIGTERM
    jsonLines(server.output())


def test_bad_environment() -> None:
    argv = [str(BIN / "twistd"), "--nodaemon", "--pidfile=", "-y", "tac/responder.tac"]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={**os.environ, "RESPONDER_MAX_REQUEST": "lots"},
    )
    assert result.returncode != 0
    assert result.stderr == (
        "responder: RESPONDER_MAX_REQUEST: 'lots' is not a whole number\n"
    )
    assert "Traceback" not in result.stderr + result.stdout


def test_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            twistdCommand("--port", f"tcp:{port}:interface=127.0.0.1"),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert f"cannot listen on tcp:{port}:interface=127.0.0.1" in output
    assert "Address already in use" in output
    assert "Traceback" not in output


def unitSetting(unit: str, key: str) -> str:
    """
    The value of C{key} in C{contrib/systemd/UNIT}.
    """
    for line in (REPO / "contrib" / "systemd" / unit).read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"no {key} in {unit}")


@pytest.mark.skipif(
    shutil.which("systemd-socket-activate") is None,
    reason="systemd-socket-activate is not installed (Debian package systemd)",
)
def test_systemd_socket_activation() -> None:
    """
    The command line of C{contrib/systemd/responder.service}, started the
    way its C{responder.socket} starts it: the listening socket is
    inherited, named as the unit names it, and served.  Like systemd,
    systemd-socket-activate starts the service on the first connection,
    which waits in the socket's queue until responder accepts it.
    """
    port = freePort()
    execStart = unitSetting("responder.service", "ExecStart").split()
    assert Path(execStart[0]).name == "twistd"
    argv = [
        "systemd-socket-activate",
        "--listen",
        f"127.0.0.1:{port}",
        # Twisted ignores inherited sockets unless LISTEN_FDNAMES is set, as
        # systemd does from FileDescriptorName=; systemd-socket-activate
        # sets it only when asked.
        "--fdname=" + unitSetting("responder.socket", "FileDescriptorName"),
        str(BIN / "twistd"),
        *execStart[1:],
    ]
    with runningServer(argv) as server:
        server.waitFor(r"Listening on 127\.0\.0\.1:" + str(port))
        assert request(port, b"activated\0") == RESPONSE
        server.waitFor(r"listening on 127\.0\.0\.1:" + str(port))
        server.waitFor(r" activated$")
        assertCleanStop(server)


@pytest.mark.skipif(
    shutil.which("haproxy") is None,
    reason="haproxy is not installed (Debian package haproxy)",
)
@pytest.mark.parametrize("sendProxy", ["send-proxy", "send-proxy-v2"])
def test_behind_haproxy(sendProxy: str, tmp_path: Path) -> None:
    """
    A real HAProxy in front, speaking the PROXY protocol: responder logs
    the client's own address and port, not HAProxy's.
    """
    with runningServer(twistdCommand("--port", f"haproxy:{LOOPBACK}")) as server:
        [backend] = server.listeningPorts()
        frontend = freePort()
        config = tmp_path / "haproxy.cfg"
        config.write_text(
            "defaults\n"
            "  mode tcp\n"
            "  timeout connect 5s\n"
            "  timeout client 10s\n"
            "  timeout server 10s\n"
            "frontend front\n"
            f"  bind 127.0.0.1:{frontend}\n"
            "  default_backend back\n"
            "backend back\n"
            f"  server responder 127.0.0.1:{backend} {sendProxy}\n"
        )
        with runningServer(["haproxy", "-db", "-f", str(config)]) as proxy:
            deadline = time.monotonic() + 15
            while True:
                try:
                    client = socket.create_connection(
                        ("127.0.0.1", frontend), timeout=10
                    )
                    break
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline, proxy.output()
                    time.sleep(0.05)
            with client:
                clientPort = client.getsockname()[1]
                client.sendall(b"proxied\0")
                assert readAll(client) == RESPONSE
            server.waitFor(rf"\] 127\.0\.0\.1:{clientPort} proxied$")
        assertCleanStop(server)
