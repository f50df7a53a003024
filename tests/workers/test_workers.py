"""
C{--workers N}: the configuration a worker receives, the parent's handling
of its workers on a fake reactor, and the whole thing as processes on
loopback: sharing the load, a worker killed and restarted, a graceful stop
with a request in flight, every endpoint type, and what is refused.
"""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network
from pathlib import Path
from typing import Any, cast

import pytest
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.interfaces import IProcessProtocol
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import ILogObserver, LogEvent, Logger, eventAsJSON, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig, ResponderFactory, ResponderService, makeService
from responder.workers import (
    ALIVE,
    KILL_MARGIN,
    READY,
    SharedSocket,
    WorkerPoolService,
    WorkerSlot,
    WorkerSpec,
    configFromJSON,
    configToJSON,
    workerDescription,
)

from .._server import (
    REPO,
    ServerProcess,
    freePort,
    readAll,
    request,
    runningServer,
    twistdCommand,
)
from ..e2e.test_twistd import RESPONSE, assertCleanStop
from ..tls import writeCertificate

LOOPBACK = "tcp:0:interface=127.0.0.1"
_STARTED = re.compile(r"started worker (\d+) \(pid (\d+)\)")


class ConfigTests(SynchronousTestCase):
    """
    A worker gets exactly the parent's configuration, through JSON.
    """

    def test_roundTrip(self) -> None:
        """
        Every kind of value survives: any bytes (NUL, non-UTF-8), networks
        of both families, tuples, C{None}, floats and flags.
        """
        config = ResponderConfig(
            endpoints=("tcp:0:interface=127.0.0.1", "unix:/tmp/x.sock"),
            response=b"caf\xc3\xa9 \x00\xff",
            maxRequest=7,
            timeout=0.25,
            maxConnections=None,
            maxPerIP=3,
            busyResponse=b"busy\x80",
            allow=(ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")),
            deny=(ip_network("10.1.2.3/32"),),
            backlog=17,
            drainTimeout=1.5,
            quiet=True,
            requestLog="stdout",
            keepAlive=True,
            delimiter=b"\n",
            workers=3,
        )
        values = json.loads(json.dumps(configToJSON(config)))
        self.assertEqual(configFromJSON(values), config)

    def test_unknownType(self) -> None:
        """
        A value of a type nobody taught the encoding fails loudly, not as a
        worker with a different configuration.
        """
        config = ResponderConfig(endpoints=cast(Any, (Path("/x"),)))
        self.assertRaises(TypeError, configToJSON, config)

    def test_spec(self) -> None:
        spec = WorkerSpec(
            number=2,
            parent=1234,
            config=ResponderConfig(response=b"\x00"),
            sockets=(
                SharedSocket(3, socket.AF_INET, "tcp:0"),
                SharedSocket(4, socket.AF_UNIX, "haproxy:unix:/x"),
            ),
        )
        self.assertEqual(WorkerSpec.fromJSON(spec.toJSON()), spec)


class DescriptionTests(SynchronousTestCase):
    """
    Which endpoints workers share, and what a worker parses for each.
    """

    def test_shared(self) -> None:
        for description in [
            "tcp:1984:interface=127.0.0.1:backlog=10",
            "tcp6:1984",
            "unix:/run/r.sock:mode=660",
            "ssl:443:privateKey=k.pem:certKey=c.pem",
            "haproxy:tcp:1984",
            "HAProxy:haproxy:ssl:443:privateKey=k.pem",
        ]:
            self.assertEqual(workerDescription(description), description)

    def test_systemd(self) -> None:
        """
        A systemd socket is the parent's: a worker parses a stand-in that
        keeps the wrapping.
        """
        self.assertEqual(workerDescription("systemd:domain=INET:index=0"), "tcp:0")
        self.assertEqual(
            workerDescription("haproxy:systemd:domain=UNIX:name=r"), "haproxy:tcp:0"
        )

    def test_refused(self) -> None:
        for description in ["stdio:", "haproxy:stdio:", "onion:80", "haproxy"]:
            with self.assertRaises(ValueError) as caught:
                workerDescription(description)
            self.assertIn(
                f"cannot share endpoint {description!r}", str(caught.exception)
            )

    def test_makeService(self) -> None:
        """
        One worker is the plain service; more make a pool; an endpoint
        that cannot be shared is a one-line exit.
        """
        reactor = MemoryReactorClock()
        one = makeService(ResponderConfig(endpoints=(LOOPBACK,)), reactor)
        self.assertIs(type(one), ResponderService)
        two = makeService(ResponderConfig(endpoints=(LOOPBACK,), workers=2), reactor)
        self.assertIsInstance(two, WorkerPoolService)
        with self.assertRaises(SystemExit) as caught:
            makeService(ResponderConfig(endpoints=("stdio:",), workers=2), reactor)
        self.assertTrue(str(caught.exception).startswith("responder: --workers cannot"))


class FakeProcess:
    """
    The parent's view of a worker process, on a fake reactor.
    """

    def __init__(self, protocol: IProcessProtocol, pid: int) -> None:
        self.protocol = protocol
        self.pid: int | None = pid
        self.stdin = b""
        self.stdinClosed = False
        self.signals: list[str] = []

    def write(self, data: bytes) -> None:
        self.stdin += data

    def closeStdin(self) -> None:
        self.stdinClosed = True

    def signalProcess(self, name: str) -> None:
        if self.pid is None:
            raise ProcessExitedAlready()
        self.signals.append(name)

    def end(self, reason: Exception) -> None:
        self.pid = None
        self.protocol.processEnded(Failure(reason))


class ProcessReactor(MemoryReactorClock):
    """
    A memory reactor that also pretends to spawn processes.
    """

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[FakeProcess] = []
        self.spawned: list[dict[str, Any]] = []

    def spawnProcess(
        self,
        processProtocol: IProcessProtocol,
        executable: str,
        args: list[str],
        env: dict[str, str],
        childFDs: dict[int, int | str],
    ) -> FakeProcess:
        process = FakeProcess(processProtocol, 1000 + len(self.processes))
        self.processes.append(process)
        self.spawned.append({"executable": executable, "args": args, "env": env})
        self.spawned[-1]["childFDs"] = childFDs
        processProtocol.makeConnection(cast(Any, process))
        return process


def fakePool(
    config: ResponderConfig,
) -> tuple[ProcessReactor, WorkerPoolService, list[LogEvent]]:
    """
    A running pool on a fake reactor, with one shared socket, whose log
    events are kept.
    """
    reactor = ProcessReactor()
    pool = WorkerPoolService(ResponderService(ResponderFactory(config)), reactor)
    pool.running = True
    pool.sockets = (SharedSocket(3, socket.AF_INET, "tcp:0"),)
    pool.childFDs = {1: {3: 9}, 2: {3: 9}}
    events: list[LogEvent] = []
    pool.log = Logger(observer=cast(ILogObserver, events.append))
    return reactor, pool, events


class SlotTests(SynchronousTestCase):
    """
    The parent starts, restarts and stops each worker; tested with fake
    processes on a fake clock.
    """

    def setUp(self) -> None:
        config = ResponderConfig(workers=2, drainTimeout=3.0, requestLog="stdout")
        self.reactor, self.pool, self.events = fakePool(config)
        self.slot = WorkerSlot(self.pool, 2)

    def logged(self) -> list[str]:
        return [formatEvent(event) for event in self.events]

    def test_start(self) -> None:
        """
        A worker is this Python running C{responder.workers.child}, with the
        sockets at 3 and up and its spec on stdin; the parent's stdout is
        its own when request lines go there.
        """
        os.environ["LISTEN_FDS"] = "1"
        self.addCleanup(os.environ.pop, "LISTEN_FDS")
        self.slot.start()
        [spawned] = self.reactor.spawned
        self.assertEqual(spawned["args"][1:], ["-m", "responder.workers.child"])
        self.assertEqual(spawned["childFDs"], {0: "w", 1: 1, 2: "r", 3: 9})
        self.assertNotIn("LISTEN_FDS", spawned["env"])
        [process] = self.reactor.processes
        self.assertTrue(process.stdinClosed)
        spec = WorkerSpec.fromJSON(process.stdin)
        self.assertEqual((spec.number, spec.parent), (2, os.getpid()))
        self.assertEqual(spec.sockets, self.pool.sockets)
        self.assertEqual(self.logged(), ["started worker 2 (pid 1000)"])

    def test_relayedStdout(self) -> None:
        """
        When request lines go through twisted.logger, a worker's stdout is
        a pipe to the parent.
        """
        config = ResponderConfig(workers=2, requestLog="twisted")
        pool = WorkerPoolService(
            ResponderService(ResponderFactory(config)), self.reactor
        )
        pool.childFDs = {1: {}}
        WorkerSlot(pool, 1).start()
        self.assertEqual(self.reactor.spawned[0]["childFDs"][1], "r")

    def test_restart(self) -> None:
        """
        A worker that dies is started again at once if it had run a while.
        """
        self.slot.start()
        self.slot.heard(READY)
        for _ in range(30):
            self.reactor.advance(1)
            self.slot.heard(ALIVE)
        self.reactor.processes[0].end(ProcessTerminated(signal=signal.SIGKILL))
        self.reactor.advance(0)
        self.assertEqual(len(self.reactor.processes), 2)
        self.assertIn(
            "worker 2 (pid 1000) was killed by SIGKILL; restarting it", self.logged()
        )

    def test_restartPaced(self) -> None:
        """
        A worker that dies as soon as it is ready is not started again more
        than once a second.
        """
        self.slot.start()
        self.slot.heard(READY)
        self.reactor.advance(0.25)
        self.reactor.processes[0].end(ProcessTerminated(exitCode=1))
        self.reactor.advance(0.7)
        self.assertEqual(len(self.reactor.processes), 1)
        self.reactor.advance(0.05)
        self.assertEqual(len(self.reactor.processes), 2)
        self.assertIn(
            "worker 2 (pid 1000) exited with status 1; restarting it", self.logged()
        )

    def test_stop(self) -> None:
        """
        Stopping sends SIGTERM and waits for the exit; no restart follows.
        """
        self.slot.start()
        stopped = self.slot.stop()
        process = self.reactor.processes[0]
        self.assertEqual(process.signals, ["TERM"])
        self.assertNoResult(stopped)
        process.end(ProcessDone(0))
        self.successResultOf(stopped)
        self.reactor.advance(60)
        self.assertEqual(len(self.reactor.processes), 1)
        self.assertEqual(process.signals, ["TERM"])

    def test_stopKills(self) -> None:
        """
        A worker that has not exited by the end of the drain timeout and
        the margin after it is killed.
        """
        self.slot.start()
        stopped = self.slot.stop()
        process = self.reactor.processes[0]
        self.reactor.advance(3.0 + KILL_MARGIN - 0.1)
        self.assertEqual(process.signals, ["TERM"])
        self.reactor.advance(0.1)
        self.assertEqual(process.signals, ["TERM", "KILL"])
        self.assertIn(
            "worker 2 (pid 1000) did not stop within 8 s; killing it", self.logged()
        )
        process.end(ProcessTerminated(signal=signal.SIGKILL))
        self.successResultOf(stopped)

    def test_stopWhileRestarting(self) -> None:
        """
        Stopping a worker that is waiting to be restarted cancels the
        restart.
        """
        self.slot.start()
        self.reactor.processes[0].end(ProcessTerminated(exitCode=1))
        self.successResultOf(self.slot.stop())
        self.reactor.advance(5)
        self.assertEqual(len(self.reactor.processes), 1)

    def test_stopAfterExit(self) -> None:
        """
        A worker that exits just as it is told to stop (its end not yet
        seen) does not make stopping fail.
        """
        self.slot.start()
        process = self.reactor.processes[0]
        process.pid = None
        stopped = self.slot.stop()
        process.end(ProcessDone(0))
        self.successResultOf(stopped)

    def test_diesWhilePoolStops(self) -> None:
        """
        A worker that dies while the pool is stopping is not restarted.
        """
        self.slot.start()
        self.pool.running = False
        self.reactor.processes[0].end(ProcessTerminated(exitCode=3))
        self.reactor.advance(5)
        self.assertEqual(len(self.reactor.processes), 1)
        self.assertEqual(self.logged()[-1], "worker 2 (pid 1000) exited with status 3")

    def test_reload(self) -> None:
        """
        The workers serve, so a reload (SIGHUP to the parent) is theirs to
        do.
        """
        self.pool.workers = [self.slot, WorkerSlot(self.pool, 1)]
        self.slot.start()
        self.slot.heard(READY)
        self.pool.reload()
        self.assertEqual(self.reactor.processes[0].signals, ["HUP"])

    def test_relay(self) -> None:
        """
        Lines on a worker's stderr become warnings, whole lines only; log
        events on its stdout are emitted here as they were there.
        """
        self.slot.start()
        assert self.slot.process is not None
        process = self.slot.process
        process.childDataReceived(2, b"Traceback (most\nrecent")
        self.assertEqual(self.logged()[-1], "worker 2: Traceback (most")
        event = {
            "log_format": "{peer} {request}",
            "peer": "127.0.0.1:5",
            "request": "hi",
            "log_namespace": "responder.w2",
            "log_time": 1.0,
        }
        record = ("\x1e" + eventAsJSON(event) + "\n").encode()
        process.childDataReceived(1, record[:9])
        process.childDataReceived(1, record[9:])
        self.assertEqual(self.events[-1]["log_namespace"], "responder.w2")
        self.assertEqual(self.logged()[-1], "127.0.0.1:5 hi")
        self.reactor.processes[0].end(ProcessDone(0))
        self.assertIn("worker 2: recent", self.logged())


# Processes on loopback.


def startedWorkers(server: ServerProcess, count: int = 2) -> dict[int, int]:
    """
    Wait until C{count} workers are ready; return the pid of each worker
    number, the latest for a restarted one.
    """
    server.waitFor(r"worker \d+ \(pid \d+\) ready", count=count)
    started = {}
    for line in server.lines():
        match = _STARTED.search(line)
        if match:
            started[int(match.group(1))] = int(match.group(2))
    return started


def alive(pid: int) -> bool:
    """
    Whether process C{pid} exists and is not a zombie.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def servedBy(server: ServerProcess, tag: str, count: int) -> dict[int, int]:
    """
    Wait for the C{count} request lines of requests tagged C{tag}; return
    how many each worker number served.
    """
    pattern = rf"\[responder\.w(\d+)#info\] 127\.0\.0\.1:\d+ {tag}-\d+$"
    lines = server.waitFor(pattern, count=count)
    served: dict[int, int] = {}
    for line in lines:
        match = re.search(pattern, line)
        assert match is not None
        served[int(match.group(1))] = served.get(int(match.group(1)), 0) + 1
    return served


def test_workers_share_the_load() -> None:
    """
    Two workers answer the exact bytes, and each serves a fair share of
    requests sent 32 at a time; each request line names its worker.
    """
    with runningServer(twistdCommand("--port", LOOPBACK, "--workers", "2")) as server:
        [port] = server.listeningPorts()
        pids = startedWorkers(server)
        assert sorted(pids) == [1, 2]
        assert request(port, b"hello\0") == RESPONSE
        total = 1000
        with ThreadPoolExecutor(32) as pool:
            answers = list(
                pool.map(lambda n: request(port, f"share-{n}\0".encode()), range(total))
            )
        assert answers == [RESPONSE] * total
        served = servedBy(server, "share", total)
        assert sum(served.values()) == total
        assert min(served.get(1, 0), served.get(2, 0)) >= total // 10, served
        assertCleanStop(server)
        stopped = server.waitFor(
            r"worker \d stopped after answering \d+ requests", count=2
        )
        counts = [int(line.split("answering ")[1].split()[0]) for line in stopped]
        assert sum(counts) == total + 1


def test_killed_worker_is_restarted() -> None:
    """
    A worker killed with SIGKILL is reported and replaced, and service
    goes on.
    """
    with runningServer(twistdCommand("--port", LOOPBACK, "--workers", "2")) as server:
        [port] = server.listeningPorts()
        pids = startedWorkers(server)
        os.kill(pids[1], signal.SIGKILL)
        server.waitFor(
            rf"worker 1 \(pid {pids[1]}\) was killed by SIGKILL; restarting it"
        )
        restarted = startedWorkers(server, count=3)
        assert restarted[1] != pids[1] and restarted[2] == pids[2]
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda n: request(port, f"after-{n}\0".encode()), range(100))
            )
        assert answers == [RESPONSE] * 100
        servedBy(server, "after", 100)
        assertCleanStop(server)
        assert not alive(restarted[1]) and not alive(restarted[2])


def test_sigterm_lets_request_in_flight_finish() -> None:
    """
    SIGTERM to the parent: every process stops accepting at once (new
    connections are refused), the connection in flight still gets its
    answer, the parent exits as twistd does (143), and no worker is left.
    """
    with runningServer(twistdCommand("--port", LOOPBACK, "--workers", "2")) as server:
        [port] = server.listeningPorts()
        pids = startedWorkers(server)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            # Accepted in order: once this is answered, so is the client.
            assert request(port, b"warm-up\0") == RESPONSE
            server.process.send_signal(signal.SIGTERM)
            server.waitFor(r"waiting up to 10 s for 1 open connections")
            server.waitFor(r"worker \d stopped after answering")
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=10).close()
            client.sendall(b"late\0")
            assert readAll(client) == RESPONSE
        # Stopping already: a second SIGTERM would make twistd stop twice.
        server.process.wait(30)
        assertCleanStop(server)
        server.waitFor(r"\[responder\.w\d#info\] 127\.0\.0\.1:\d+ late$")
        assert not any(alive(pid) for pid in pids.values())


def test_endpoint_types(tmp_path: Path) -> None:
    """
    Workers share unix sockets (whose path only the parent removes), TLS
    and PROXY protocol endpoints.
    """
    path = tmp_path / "r.sock"
    key, cert = writeCertificate(tmp_path)
    argv = twistdCommand(
        "--port",
        f"unix:{path}",
        "--listen",
        f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
        "--listen",
        f"haproxy:{LOOPBACK}",
        "--workers",
        "2",
    )
    with runningServer(argv) as server:
        listening = " ".join(server.waitFor(r"listening on ", count=3))
        tlsPort, proxyPort = map(int, re.findall(r"on 127\.0\.0\.1:(\d+)", listening))
        startedWorkers(server)
        context = ssl.create_default_context(cafile=str(cert))
        for n in range(4):
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(10)
                client.connect(str(path))
                client.sendall(f"unix-{n}\0".encode())
                assert readAll(client) == RESPONSE
            plain = socket.create_connection(("127.0.0.1", tlsPort), timeout=10)
            with context.wrap_socket(plain, server_hostname="localhost") as client:
                client.sendall(f"tls-{n}\0".encode())
                assert readAll(client) == RESPONSE
            header = f"PROXY TCP4 192.0.2.1 192.0.2.2 {4000 + n} 80\r\n"
            assert request(proxyPort, f"{header}proxy-{n}\0".encode()) == RESPONSE
        servedBy(server, "tls", 4)
        server.waitFor(r"\[responder\.w\d#info\] unix:\S+ unix-3$")
        server.waitFor(r"\[responder\.w\d#info\] 192\.0\.2\.1:4003 proxy-3$")
        assertCleanStop(server)
        assert not path.exists()


@pytest.mark.skipif(
    shutil.which("systemd-socket-activate") is None,
    reason="systemd-socket-activate is not installed (Debian package systemd)",
)
def test_systemd_socket() -> None:
    """
    A socket systemd passed to the parent is served by the workers.
    """
    port = freePort()
    argv = [
        "systemd-socket-activate",
        "--listen",
        f"127.0.0.1:{port}",
        "--fdname=responder",
        *twistdCommand("--port", "systemd:domain=INET:index=0", "--workers", "2"),
    ]
    with runningServer(argv) as server:
        server.waitFor(r"Listening on 127\.0\.0\.1:" + str(port))
        assert request(port, b"activated\0") == RESPONSE
        startedWorkers(server)
        assert request(port, b"again\0") == RESPONSE
        server.waitFor(r"\[responder\.w\d#info\] 127\.0\.0\.1:\d+ again$")
        assertCleanStop(server)


def test_log_file(tmp_path: Path) -> None:
    """
    With twistd's C{--logfile}, the workers' lines, request lines
    included, reach the parent's log file.
    """
    logFile = tmp_path / "responder.log"
    argv = twistdCommand("--port", LOOPBACK, "--workers", "2")
    argv.insert(argv.index("responder"), f"--logfile={logFile}")
    with runningServer(argv) as server:

        def waitInLog(pattern: str, count: int = 1) -> list[str]:
            deadline = time.monotonic() + 15
            while True:
                text = logFile.read_text() if logFile.exists() else ""
                found = re.findall(pattern, text)
                if len(found) >= count:
                    return found
                assert time.monotonic() < deadline, text
                time.sleep(0.05)

        [port] = waitInLog(r"listening on 127\.0\.0\.1:(\d+)")
        waitInLog(r"\[responder\.w\d#info\] worker \d \(pid \d+\) ready", count=2)
        assert request(int(port), b"to-file\0") == RESPONSE
        waitInLog(r"\[responder\.w\d#info\] 127\.0\.0\.1:\d+ to-file\n")
        assert server.stop() == 128 + signal.SIGTERM
        assert "Traceback" not in logFile.read_text()


def test_sighup_reloads_rules_in_every_worker(tmp_path: Path) -> None:
    """
    SIGHUP to the parent reloads the rules file in each worker.
    """
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nequals = "PING"\nresponse = "ONE"\n')
    argv = twistdCommand("--port", LOOPBACK, "--rules", str(rules), "--workers", "2")
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        startedWorkers(server)
        assert request(port, b"PING\0") == b"ONE\0"
        rules.write_text('[[rule]]\nequals = "PING"\nresponse = "TWO"\n')
        server.process.send_signal(signal.SIGHUP)
        server.waitFor(r"\[responder\.w\d#info\] reloaded 1 rules from ", count=2)
        for _ in range(10):
            assert request(port, b"PING\0") == b"TWO\0"
        assertCleanStop(server)


def test_sighup_without_rules_keeps_serving() -> None:
    """
    Without a rules file, SIGHUP to the parent does not end the pool: the
    parent would die of it undrained, leaving its workers to stop alone.
    """
    argv = twistdCommand("--port", LOOPBACK, "--workers", "2")
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        pids = startedWorkers(server)
        server.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert server.process.poll() is None
        assert request(port, b"still\0") == RESPONSE
        assert startedWorkers(server) == pids
        assertCleanStop(server)


def test_unshareable_endpoint() -> None:
    result = subprocess.run(
        twistdCommand("--port", "stdio:", "--workers", "2"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "responder: --workers cannot share endpoint 'stdio:': only tcp:, tcp6:, "
        "unix:, ssl: and systemd: sockets can be shared, also behind haproxy:\n"
    )


def test_workers_stop_when_parent_is_killed() -> None:
    """
    Workers whose parent was killed outright stop within seconds instead
    of serving on, unsupervised.
    """
    with runningServer(twistdCommand("--port", LOOPBACK, "--workers", "2")) as server:
        pids = startedWorkers(server)
        server.stop(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in pids.values()):
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        assert "the parent process" in server.output()
