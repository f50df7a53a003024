"""
Out of descriptors, or at C{--max-connections}, the server stops accepting
rather than accepting and dropping: clients wait in the listen queue and
are all answered, and the log gets no line per connection.
"""

import resource
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .._server import readAll, runningServer, twistdCommand
from .test_hostile import requireDescriptors
from .test_twistd import RESPONSE

LOOPBACK = "tcp:0:interface=127.0.0.1"


def _limitFiles(count: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))


def holdThenAsk(port: int, clients: int) -> list[bytes]:
    """
    Connect C{clients} sockets at once (the server cannot take them all),
    then send each its request and read each answer.
    """
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(clients)]
    try:
        for client in sockets:
            client.settimeout(60)
            client.sendall(b"held\0")
        return [readAll(client) for client in sockets]
    finally:
        for client in sockets:
            client.close()


def burst(port: int, count: int, concurrency: int) -> list[bytes]:
    def one(_: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as client:
            client.sendall(b"burst\0")
            return readAll(client)

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.parametrize("limit", [None, 50])
def test_no_descriptor_exhaustion(limit: int | None) -> None:
    """
    With 256 open files and 400 clients holding their connections (and
    then a burst of 3,000 from 200 at a time), every client is answered and
    the log has no EMFILE line: past the limit (C{--max-connections}, or
    the descriptors left), the server stops accepting until one closes.
    """
    requireDescriptors(1200)
    extra = [] if limit is None else ["--max-connections", str(limit)]
    with runningServer(
        twistdCommand("--port", LOOPBACK, "--quiet", *extra),
        preexec=lambda: _limitFiles(256),
    ) as server:
        [port] = server.listeningPorts()
        assert holdThenAsk(port, 400) == [RESPONSE] * 400
        assert burst(port, 3000, 200) == [RESPONSE] * 3000
        time.sleep(0.2)
        output = server.output()
    assert "EMFILE" not in output, output[-2000:]
    assert "Could not accept" not in output
    paused = [line for line in output.splitlines() if "not accepting more" in line]
    assert 1 <= len(paused) <= 3, paused
