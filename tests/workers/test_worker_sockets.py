"""
C{--worker-sockets}, as processes on loopback: with C{reuseport} (the
default) each worker serves a listening socket of its own, and a
restarted worker serves the same one again, so the connections queued on
it while it was down are answered, not lost; with C{shared} the workers
accept from one socket.
"""

import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .._server import ServerProcess, readAll, runningServer, twistdCommand
from ..e2e.test_twistd import RESPONSE, assertCleanStop
from .test_workers import LOOPBACK, servedBy, startedWorkers


def listeners(port: int) -> set[str]:
    """
    The inodes of the sockets listening on TCP port C{port} of 127.0.0.1,
    from C{/proc/net/tcp}.
    """
    local = f"0100007F:{port:04X}"
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[3] == "0A":
            found.add(fields[9])
    return found


def sockets(pid: int) -> set[str]:
    """
    The inodes of the sockets process C{pid} has open.
    """
    found = set()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


def served(server: ServerProcess, port: int, tag: str, count: int) -> dict[int, int]:
    """
    Send C{count} requests tagged C{tag}, 16 at a time, each waiting up to
    60 s for its answer; return how many each worker number served.
    """

    def ask(n: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as client:
            client.sendall(f"{tag}-{n}\0".encode())
            return readAll(client)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(count)))
    assert answers == [RESPONSE] * count
    return servedBy(server, tag, count)


def test_each_worker_has_its_own_socket() -> None:
    """
    Two workers, two listening sockets on the one port, each held by the
    parent and by one worker only, and both serve.
    """
    with runningServer(twistdCommand("--port", LOOPBACK, "--workers", "2")) as server:
        [port] = server.listeningPorts()
        pids = startedWorkers(server)
        inodes = listeners(port)
        assert len(inodes) == 2
        assert inodes <= sockets(server.pid)
        own = [sockets(pids[number]) & inodes for number in (1, 2)]
        assert all(len(held) == 1 for held in own) and own[0] != own[1]
        counts = served(server, port, "own", 64)
        assert counts.get(1, 0) > 0 and counts.get(2, 0) > 0, counts
        assertCleanStop(server)
        assert listeners(port) == set()


def test_restarted_worker_serves_its_socket() -> None:
    """
    Connections that reach a killed worker's socket before its restart
    wait for it: the restarted worker serves the same socket and answers
    them.  (With one shared socket the other worker would take them all.)
    """
    with runningServer(twistdCommand("--port", LOOPBACK, "--workers", "2")) as server:
        [port] = server.listeningPorts()
        pids = startedWorkers(server)
        [before] = sockets(pids[1]) & listeners(port)
        os.kill(pids[1], signal.SIGKILL)
        server.waitFor(
            rf"worker 1 \(pid {pids[1]}\) was killed by SIGKILL; restarting it"
        )
        counts = served(server, port, "queued", 16)
        assert counts.get(1, 0) > 0, counts
        restarted = startedWorkers(server, count=3)
        assert restarted[1] != pids[1]
        assert sockets(restarted[1]) & listeners(port) == {before}
        assertCleanStop(server)


def test_shared_socket() -> None:
    """
    C{--worker-sockets shared}: one listening socket, which the parent
    and both workers hold.
    """
    argv = twistdCommand(
        "--port", LOOPBACK, "--workers", "2", "--worker-sockets", "shared"
    )
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        pids = startedWorkers(server)
        [inode] = listeners(port)
        assert all(inode in sockets(pid) for pid in (server.pid, *pids.values()))
        served(server, port, "shared", 64)
        assertCleanStop(server)
