"""
The edges of a real responder process under attack from loopback: idle
scrapers on the metrics port under a low descriptor limit, and a flood of
malformed PROXY headers.  Judged from the outside: what clients receive
and what the server logs.  Every loop is bounded in count and time.
"""

import shutil
import socket
import time

import pytest

from .._server import request, runningServer, twistdCommand

HOST = "127.0.0.1"
RESPONSE = b"This is the response\0"
#: The server's descriptor limit (soft and hard, so it cannot raise it).
FILE_LIMIT = 64


def _metricsPort(lines: list[str]) -> int:
    [line] = [line for line in lines if "for metrics" in line]
    return int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])


@pytest.mark.skipif(
    shutil.which("prlimit") is None, reason="prlimit is not installed (util-linux)"
)
def test_idle_scrapers_leave_descriptors_for_clients() -> None:
    """
    Under a limit of 64 open files, 200 idle connections to the metrics
    port do not take the descriptors the responder's own clients need:
    the metrics endpoint keeps a few and closes the rest as they come.
    (Before, each was kept until its idle timeout, and the serving port
    answered nobody.)
    """
    command = [
        "prlimit", f"--nofile={FILE_LIMIT}:{FILE_LIMIT}", "--",
        *twistdCommand(
            "--port", f"tcp:0:interface={HOST}",
            "--metrics", f"tcp:0:interface={HOST}",
        ),
    ]  # fmt: skip
    with runningServer(command) as server:
        [port] = server.listeningPorts()
        metrics = _metricsPort(server.waitFor("for metrics"))
        idle = []
        try:
            for _ in range(200):
                idle.append(socket.create_connection((HOST, metrics), timeout=5))
            # Let the server accept (and close) what it will.
            deadline = time.monotonic() + 10
            while server.fileDescriptors() > FILE_LIMIT - 8:
                assert time.monotonic() < deadline, "descriptors never freed"
                time.sleep(0.05)
            answers = [request(port, b"hello\0") for _ in range(20)]
        finally:
            for sock in idle:
                sock.close()
        assert answers == [RESPONSE] * 20
        assert server.fileDescriptors() < FILE_LIMIT - 8
        assert "Traceback" not in server.output()


def test_malformed_proxy_headers_flood() -> None:
    """
    300 connections with malformed PROXY v1 headers: each is closed
    unanswered, and the log gets a line or two, not a traceback each.
    """
    headers = [
        b"PROXY TCP4 1.2.3.4 5.6.7.8 x 80\r\n",
        b"PROXY TCP4 \xff\xfe 1.2.3.4 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 5.6.7.8 12345678901234567890123 80\r\n",
    ]
    with runningServer(
        twistdCommand("--port", f"haproxy:tcp:0:interface={HOST}")
    ) as server:
        [port] = server.listeningPorts()
        before = len(server.lines())
        for i in range(300):
            assert request(port, headers[i % len(headers)] + b"hello\0") == b""
        good = f"PROXY TCP4 203.0.113.9 {HOST} 5555 {port}\r\n".encode()
        assert request(port, good + b"hello\0") == RESPONSE
        server.waitFor("203.0.113.9:5555 hello")
        new = server.lines()[before:]
        assert "Traceback" not in server.output()
        assert "Unhandled Error" not in server.output()
        refusals = [line for line in new if "refused" in line]
        assert len(refusals) == 1, new
        assert "malformed PROXY header" in refusals[0]
