"""
The request log keeps its promise against a real process: every request a
client got an answer for (or a rule's close or reset) is in the log, even
when the server is killed with SIGKILL right after; and a log that is full,
closed or never read does not stop the answers.
"""

import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .._server import ServerProcess, freePort, readAll, runningServer, twistdCommand
from .test_twistd import RESPONSE

LOOPBACK = "tcp:0:interface=127.0.0.1"
REQUESTS = 150  # sequential, then as many again from 10 clients at once

RULES = """
[[rule]]
prefix = "close-"
fault = "close"

[[rule]]
prefix = "reset-"
fault = "reset"
"""


def oneShot(port: int, token: bytes) -> None:
    """
    Ask once; the answer must be the response, or for a rule's fault the
    close or the reset it chose.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(token + b"\0")
        try:
            answer = readAll(client)
        except ConnectionResetError:
            assert token.startswith(b"reset-"), token
            return
    expected = b"" if token.startswith((b"close-", b"reset-")) else RESPONSE
    assert answer == expected, (token, answer)


def keepAlive(port: int, tokens: Sequence[bytes]) -> None:
    """
    Ask each of C{tokens} in turn on one connection, reading each answer.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        for token in tokens:
            client.sendall(token + b"\0")
            answer = b""
            while len(answer) < len(RESPONSE):
                chunk = client.recv(len(RESPONSE) - len(answer))
                assert chunk, "closed before the answer"
                answer += chunk
            assert answer == RESPONSE


def tokens(count: int, prefix: str = "") -> list[bytes]:
    return [f"{prefix}{uuid.uuid4().hex}".encode() for _ in range(count)]


def killAll(server: ServerProcess) -> None:
    """
    SIGKILL the server and its workers at once, as the OOM killer or a
    container runtime would.
    """
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    for pid in [server.pid, *pids]:
        os.kill(pid, signal.SIGKILL)
    server.process.wait(10)
    for pid in pids:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)


MODES: dict[str, list[str]] = {
    "text": [],
    "json": ["--log-format", "json"],
    "keep-alive": ["--keep-alive"],
    "workers": ["--workers", "2"],
    "faults": [],  # with RULES
}


@pytest.mark.parametrize("mode", MODES)
def test_sigkill_loses_no_answered_request(mode: str, tmp_path: Path) -> None:
    arguments = ["--port", LOOPBACK, *MODES[mode]]
    if mode == "faults":
        rules = tmp_path / "rules.toml"
        rules.write_text(RULES)
        arguments += ["--rules", str(rules)]
    with runningServer(twistdCommand(*arguments)) as server:
        [port] = server.listeningPorts()
        if mode == "workers":
            server.waitFor(r"worker \d \(pid \d+\) ready", count=2)
        asked: list[bytes] = []
        ask: Callable[[list[bytes]], None]
        if mode == "keep-alive":

            def ask(batch: list[bytes]) -> None:
                keepAlive(port, batch)

            sequential = tokens(REQUESTS)
            concurrent = [tokens(REQUESTS // 10) for _ in range(10)]
        else:

            def ask(batch: list[bytes]) -> None:
                for token in batch:
                    oneShot(port, token)

            kinds = ("", "close-", "reset-") if mode == "faults" else ("",)
            each = REQUESTS // len(kinds)
            sequential = [t for kind in kinds for t in tokens(each, kind)]
            concurrent = [
                [t for kind in kinds for t in tokens(each // 10, kind)]
                for _ in range(10)
            ]
        ask(sequential)
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(ask, concurrent))
        killAll(server)
        asked = sequential + [t for batch in concurrent for t in batch]
        logged = server.output()
        missing = [token for token in asked if token.decode() not in logged]
        assert not missing, f"{len(missing)} of {len(asked)} answered requests lost"


def startWithOutput(
    stdout: int, *arguments: str
) -> tuple[subprocess.Popen[bytes], int]:
    """
    Start the server with its standard output on C{stdout}; its standard
    error is a pipe.
    """
    port = freePort()
    process = subprocess.Popen(
        twistdCommand("--port", f"tcp:{port}:interface=127.0.0.1", *arguments),
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            assert process.poll() is None, "the server exited"
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the server did not listen")


def askMany(port: int, count: int) -> None:
    for n in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"request %d\0" % n)
            assert readAll(client) == RESPONSE, f"request {n} of {count} unanswered"


def stop(process: subprocess.Popen[bytes]) -> str:
    process.kill()
    _, stderr = process.communicate(timeout=10)
    return stderr.decode("utf-8", "replace")


BROKEN = ["full disk", "closed pipe"]


@pytest.mark.parametrize("log", BROKEN)
@pytest.mark.parametrize("extra", [[], ["--log-format", "json"], ["--workers", "2"]])
def test_broken_log_answers_on(log: str, extra: list[str]) -> None:
    """
    With standard output on a full disk, or a pipe whose reader has gone,
    every request is still answered, and standard error says why lines are
    lost, once, not once a request.
    """
    if log == "full disk":
        stdout = os.open("/dev/full", os.O_WRONLY)
    else:
        read, stdout = os.pipe()
        os.close(read)
    try:
        process, port = startWithOutput(stdout, *extra)
    finally:
        os.close(stdout)
    try:
        askMany(port, 1000)
    finally:
        errors = stop(process)
    reports = [line for line in errors.splitlines() if "the request log" in line]
    assert reports, errors
    assert len(reports) <= 4, errors


@pytest.mark.parametrize("extra", [[], ["--request-log", "twisted"]])
def test_unread_log_answers_on(extra: list[str]) -> None:
    """
    With standard output a pipe nobody reads, answers go on once the pipe
    is full (the lines wait in the bounded backlog), and so do the timeouts
    of idle connections.
    """
    read, write = os.pipe()
    process, port = startWithOutput(write, "--timeout", "1", *extra)
    os.close(write)
    try:
        askMany(port, 3000)  # about 200 KB of lines: three full pipes
        with socket.create_connection(("127.0.0.1", port), timeout=30) as idle:
            idle.settimeout(30)
            assert idle.recv(1) == b"", "an idle connection is closed"
    finally:
        stop(process)
        os.close(read)


def test_log_recovers() -> None:
    """
    Once a full pipe is read again, the lines that waited go out, in order.
    """
    read, write = os.pipe()
    process, port = startWithOutput(write)
    os.close(write)
    drained: list[bytes] = []
    try:
        askMany(port, 3000)
        reader = threading.Thread(
            target=lambda: drained.append(_readFor(read, 3.0)), daemon=True
        )
        reader.start()
        askMany(port, 10)
        reader.join(10)
    finally:
        stop(process)
        os.close(read)
    lines = [line.rsplit(b" ", 1)[1] for line in drained[0].splitlines()]
    assert lines[-10:] == [b"%d" % n for n in range(10)]


def _readFor(fd: int, seconds: float) -> bytes:
    data = b""
    os.set_blocking(fd, False)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        if not chunk:
            break
        data += chunk
    return data
