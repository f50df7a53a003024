"""
C{--workers N}: several processes serving the same listening sockets.

The parent, twistd's own process, listens on every endpoint exactly as one
process would, so C{--port 0}, C{--uid}, C{systemd:} and the "listening on"
lines work as before; but it never accepts.  It starts N worker processes
(L{responder._worker}), each of which inherits the listening sockets, adopts
them with C{adoptStreamPort} and accepts from the one queue they share.
C{docs/workers.md} says why a shared socket rather than C{SO_REUSEPORT}.

The parent restarts a worker that dies.  Stopping it stops its own listening
first, then sends each worker SIGTERM: a worker stops accepting, lets its
open connections finish for up to the drain timeout and exits; one that has
not exited a few seconds after that is killed.
"""

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import asdict, dataclass, fields
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any, Self, cast

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.interfaces import (
    IDelayedCall,
    IProcessTransport,
    IReactorFDSet,
    IReactorProcess,
    IReactorTime,
    IReadDescriptor,
)
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import eventFromJSON
from twisted.python.failure import Failure

from ._config import ResponderConfig, endpointType, unwrapProxy
from ._factory import ResponderFactory
from ._listening import EndpointService
from ._metrics import Snapshot, StatsSource, readSnapshots
from ._service import ResponderService

#: Endpoint types whose listening socket workers can share, alone or behind
#: C{haproxy:}.  Others (C{stdio:}, plugins' endpoints) have no socket to
#: pass on, or one responder cannot know how to re-create in a worker.
SHAREABLE = frozenset({"tcp", "tcp6", "unix", "ssl", "systemd"})

#: A worker that dies is started again, but no sooner than this many seconds
#: after its last start: a worker that cannot start must not make the parent
#: spin.
RESTART_INTERVAL = 1.0

#: Seconds a stopping worker gets beyond the drain timeout before it is
#: killed: its drain aborts what is left at the timeout, so only a stuck
#: worker needs them.
KILL_MARGIN = 5.0

#: The descriptor a worker finds its first listening socket on, after
#: standard input, output and error; the others follow in order.
FIRST_SOCKET_FD = 3

_FAMILIES = {
    IPv4Address: socket.AF_INET,
    IPv6Address: socket.AF_INET6,
    UNIXAddress: socket.AF_UNIX,
}


def configToJSON(config: ResponderConfig) -> dict[str, Any]:
    """
    C{config} as values C{json} can write, for a worker.

    Every field goes, whatever its name, so a new setting reaches workers
    without a change here.  Bytes go as Latin-1 text (one character per
    byte, so any bytes survive) and networks as text, each in a one-key
    object that tells L{configFromJSON} what to make of it.

    @raise TypeError: for a value of a type not handled here.
    """
    return {
        field.name: _toJSON(getattr(config, field.name)) for field in fields(config)
    }


def configFromJSON(values: dict[str, Any]) -> ResponderConfig:
    """
    The configuration that L{configToJSON} turned into C{values}.
    """
    return ResponderConfig(**{name: _fromJSON(value) for name, value in values.items()})


def _toJSON(value: object) -> object:
    if isinstance(value, bytes):
        return {"bytes": value.decode("latin-1")}
    if isinstance(value, IPv4Network | IPv6Network):
        return {"network": str(value)}
    if isinstance(value, tuple):
        return [_toJSON(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot pass {value!r} to a worker")


def _fromJSON(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_fromJSON(item) for item in value)
    if isinstance(value, dict):
        if "bytes" in value:
            return value["bytes"].encode("latin-1")
        return ip_network(value["network"])
    return value


def workerDescription(description: str) -> str:
    """
    The endpoint description a worker parses for the socket the parent
    opened from C{description}.

    A worker lets C{serverFromString} build the endpoint, so that TLS and
    the PROXY protocol wrap its factory exactly as in one process; only the
    final listen adopts the inherited socket instead of opening one.  That
    needs the description as it is, but for C{systemd:}: systemd passed the
    socket to the parent alone, so a worker parses a C{tcp:} stand-in whose
    arguments go unused.

    @raise ValueError: naming C{description}, if workers cannot share its
        socket.
    """
    prefix, rest = unwrapProxy(description)
    kind = endpointType(rest)
    if kind not in SHAREABLE:
        raise ValueError(
            f"--workers cannot share endpoint {description!r}: only tcp:, tcp6:, "
            "unix:, ssl: and systemd: sockets can be shared, also behind haproxy:"
        )
    return prefix + ("tcp:0" if kind == "systemd" else rest)


@dataclass(frozen=True)
class SharedSocket:
    """
    A listening socket as a worker finds it.

    @ivar fd: its descriptor in the worker.
    @ivar family: its address family: C{AF_INET}, C{AF_INET6} or C{AF_UNIX}.
    @ivar description: what the worker parses to wrap its factory as the
        endpoint would (see L{workerDescription}).
    """

    fd: int
    family: int
    description: str


@dataclass(frozen=True)
class WorkerSpec:
    """
    Everything a worker needs to know, sent as JSON on its standard input
    (no size limit, unlike an argument, and not shown by C{ps}).

    @ivar number: 1 to N.  A restarted worker keeps its number, which its
        log lines show, as in C{[responder.w2#info]}.
    @ivar parent: the parent's pid; a worker whose parent has gone stops.
    @ivar metricsDirectory: where the worker writes its counters for the
        parent's metrics endpoint, or C{None} without one.
    """

    number: int
    parent: int
    config: ResponderConfig
    sockets: tuple[SharedSocket, ...]
    metricsDirectory: str | None = None

    def toJSON(self) -> bytes:
        return json.dumps(
            {
                "number": self.number,
                "parent": self.parent,
                "config": configToJSON(self.config),
                "sockets": [asdict(shared) for shared in self.sockets],
                "metricsDirectory": self.metricsDirectory,
            }
        ).encode()

    @classmethod
    def fromJSON(cls, data: bytes) -> Self:
        values = json.loads(data)
        return cls(
            number=values["number"],
            parent=values["parent"],
            config=configFromJSON(values["config"]),
            sockets=tuple(SharedSocket(**shared) for shared in values["sockets"]),
            metricsDirectory=values["metricsDirectory"],
        )


class WorkerPoolService(ResponderService):
    """
    The parent of C{--workers N}: a L{ResponderService} whose endpoints
    listen in this process while N worker processes accept and serve.

    Its own factory never sees a connection; each worker counts and logs
    its own.

    @ivar workers: one L{WorkerSlot} per worker, while running.
    @ivar sockets: the listening sockets as workers find them.
    """

    def __init__(self, factory: ResponderFactory, reactor: IReactorTime) -> None:
        """
        @raise SystemExit: with a one-line message, for an endpoint whose
            socket workers cannot share; better at once than at start.
        """
        super().__init__(factory)
        for description in factory.config.endpoints:
            try:
                workerDescription(description)
            except ValueError as e:
                raise SystemExit(f"responder: {e}") from None
        self.reactor = reactor
        self.workers: list[WorkerSlot] = []
        self.sockets: tuple[SharedSocket, ...] = ()
        self.childFDs: dict[int, int] = {}
        # Each worker writes its counters here; the metrics endpoint adds
        # them up at each scrape (see responder._metrics).
        self.metricsDirectory: str | None = None
        if factory.config.metrics is not None:
            self.metricsDirectory = tempfile.mkdtemp(prefix="responder-metrics-")

    def startService(self) -> None:
        super().startService()
        endpoints = [
            child
            for child in self
            if isinstance(child, EndpointService) and not child.purpose
        ]
        shared, self.childFDs = [], {}
        for fd, endpoint in enumerate(endpoints, FIRST_SOCKET_FD):
            assert endpoint.port is not None, "shareable endpoints listen at once"
            port = cast(IReadDescriptor, endpoint.port)
            # Keep the socket open for the workers to come, but leave every
            # connection to them.
            cast(IReactorFDSet, self.reactor).removeReader(port)
            self.childFDs[fd] = port.fileno()
            family = _FAMILIES[type(endpoint.port.getHost())]
            shared.append(
                SharedSocket(fd, family, workerDescription(endpoint.description))
            )
        self.sockets = tuple(shared)
        self.workers = [WorkerSlot(self, n) for n in range(1, self.config.workers + 1)]
        for worker in self.workers:
            worker.start()

    def statsSource(self) -> StatsSource:
        """
        The workers' counters, from the files they write: those of workers
        that have exited still count, their open connections do not.
        """
        directory = self.metricsDirectory
        assert directory is not None

        def snapshots() -> list[Snapshot]:
            alive = {slot.process.pid for slot in self.workers if slot.process}
            return readSnapshots(directory, alive=alive, log=self.log)

        return snapshots

    def handlesHangup(self) -> bool:
        """
        Always: dying of SIGHUP, the parent would leave its workers to stop
        on their own, undrained, and nobody would restart them.
        """
        return True

    def reload(self) -> None:
        """
        Have every worker reload what it can (its rules file): they serve,
        not this process.  Each logs the outcome.
        """
        for worker in self.workers:
            worker.signal("HUP")

    def stopService(self) -> Deferred[None]:
        return Deferred.fromCoroutine(self._stopWorkers())

    async def _stopWorkers(self) -> None:
        # Close this process's copies of the sockets first: once the workers
        # have stopped accepting too, a new connection is refused at once
        # instead of waiting in a queue that nobody accepts from.
        await super().stopService()
        await gatherResults([worker.stop() for worker in self.workers])
        if self.metricsDirectory is not None:
            shutil.rmtree(self.metricsDirectory, ignore_errors=True)


class WorkerSlot:
    """
    One of the N workers: starts its process, starts it again when it dies,
    and stops it.

    @ivar number: 1 to N.
    @ivar process: the protocol of the worker's process while it runs.
    """

    def __init__(self, pool: WorkerPoolService, number: int) -> None:
        self.pool = pool
        self.number = number
        self.process: WorkerProtocol | None = None
        self._clock = pool.reactor
        self._started = 0.0
        self._restart: IDelayedCall | None = None
        self._stopped: Deferred[None] | None = None
        self._kill: IDelayedCall | None = None

    def start(self) -> None:
        """
        Start the worker's process and send it its L{WorkerSpec}.
        """
        self._restart = None
        pool = self.pool
        # Request lines that go straight to stdout go to the parent's own;
        # otherwise the worker sends log events for the parent to relay to
        # its observers (a log file, syslog, JSON).  Stderr (a traceback of
        # a worker that failed to start, say) is relayed in any case, as
        # twistd may have pointed its own at /dev/null.
        stdout: int | str = 1 if pool.config.requestLog == "stdout" else "r"
        childFDs: dict[int, int | str] = {0: "w", 1: stdout, 2: "r", **pool.childFDs}
        protocol = WorkerProtocol(self)
        self._started = self._clock.seconds()
        cast(IReactorProcess, self._clock).spawnProcess(
            protocol,
            sys.executable,
            [sys.executable, "-m", "responder._worker"],
            env=_workerEnvironment(),
            childFDs=childFDs,
        )
        spec = WorkerSpec(
            self.number,
            os.getpid(),
            pool.config,
            pool.sockets,
            pool.metricsDirectory,
        )
        protocol.transport.write(spec.toJSON())
        protocol.transport.closeStdin()
        self.process = protocol
        pool.log.info(
            "started worker {number} (pid {pid})", number=self.number, pid=protocol.pid
        )

    def ended(self, protocol: "WorkerProtocol", reason: Failure) -> None:
        """
        The worker's process has exited: if it was not asked to, start it
        again, after a pause if it had only just started.
        """
        self.process = None
        if self._stopped is not None:
            if self._kill is not None and self._kill.active():
                self._kill.cancel()
            stopped, self._stopped = self._stopped, None
            stopped.callback(None)
            return
        how = _describeExit(reason)
        if not self.pool.running:
            # It died while the pool is stopping, before being told to stop.
            self.pool.log.warn(
                "worker {number} (pid {pid}) {how}",
                number=self.number,
                pid=protocol.pid,
                how=how,
            )
            return
        delay = max(0.0, self._started + RESTART_INTERVAL - self._clock.seconds())
        self.pool.log.warn(
            "worker {number} (pid {pid}) {how}; restarting it",
            number=self.number,
            pid=protocol.pid,
            how=how,
        )
        self._restart = self._clock.callLater(delay, self.start)

    def stop(self) -> Deferred[None]:
        """
        Ask the worker to stop, and kill it if it has not exited within the
        drain timeout and a margin.

        @return: a L{Deferred} that fires once the process has exited.
        """
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        if self.process is None:
            return succeed(None)
        self._stopped = Deferred()
        self.signal("TERM")
        grace = self.pool.config.drainTimeout + KILL_MARGIN
        self._kill = self._clock.callLater(grace, self._killNow, grace)
        return self._stopped

    def _killNow(self, grace: float) -> None:
        assert self.process is not None
        self.pool.log.warn(
            "worker {number} (pid {pid}) did not stop within {grace:g} s; killing it",
            number=self.number,
            pid=self.process.pid,
            grace=grace,
        )
        self.signal("KILL")

    def signal(self, name: str) -> None:
        """
        Send the worker's process the signal C{name} ("TERM"), if it runs.
        """
        if self.process is None:
            return
        try:
            self.process.transport.signalProcess(name)
        except ProcessExitedAlready:
            # Its end is on its way to ended().
            pass


class WorkerProtocol(ProcessProtocol):
    """
    One worker process, seen from the parent: relays what it writes to its
    pipes and reports its end to its L{WorkerSlot}.

    @ivar pid: the process id, kept for the messages after it has exited.
    """

    transport: IProcessTransport

    def __init__(self, slot: WorkerSlot) -> None:
        self.slot = slot
        self.pid = 0
        self._partial = {1: bytearray(), 2: bytearray()}

    def connectionMade(self) -> None:
        self.pid = self.transport.pid

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        partial = self._partial[childFD]
        partial += data
        *lines, rest = partial.split(b"\n")
        partial[:] = rest
        for line in lines:
            self._relay(childFD, bytes(line))

    def _relay(self, childFD: int, line: bytes) -> None:
        """
        Emit a line from the worker: a log event (see L{jsonFileLogObserver},
        which starts each with a record separator) as if it had been
        logged here, anything else as a warning.
        """
        log = self.slot.pool.log
        if childFD == 1 and line.startswith(b"\x1e"):
            try:
                event = eventFromJSON(line[1:].decode("utf-8"))
            except ValueError:
                pass
            else:
                log.observer(event)
                return
        log.warn(
            "worker {number}: {line}",
            number=self.slot.number,
            line=line.decode("utf-8", "backslashreplace"),
        )

    def processEnded(self, reason: Failure) -> None:
        for childFD, partial in self._partial.items():
            if partial:
                self.childDataReceived(childFD, b"\n")
        self.slot.ended(self, reason)


def _describeExit(reason: Failure) -> str:
    """
    How a process ended, in words: "exited with status 1", "was killed by
    SIGKILL".
    """
    value = reason.value
    assert isinstance(value, ProcessDone | ProcessTerminated)
    if value.signal is not None:
        return f"was killed by {signal.Signals(value.signal).name}"
    return f"exited with status {value.exitCode}"


def _workerEnvironment() -> dict[str, str]:
    """
    The parent's environment, less systemd's C{LISTEN_*} variables: they
    describe the sockets systemd passed to the parent, which a worker gets
    from the parent instead.
    """
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LISTEN_")
    }
