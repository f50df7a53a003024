"""
The parent's side of each worker: start its process, relay what it writes,
start it again when it dies, and stop it.
"""

import os
import signal
import sys
from typing import Protocol, cast

from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.interfaces import (
    IDelayedCall,
    IProcessTransport,
    IReactorProcess,
    IReactorSocket,
    IReactorTime,
)
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger, eventFromJSON
from twisted.python.failure import Failure

from ..config import ResponderConfig
from ..core import ResponderFactory
from ._channel import ChannelEnds, WorkerChannel
from ._spec import SharedSocket, WorkerSpec, controlFD

#: The module a worker runs, as C{python -m CHILD_MODULE}.
CHILD_MODULE = "responder.workers.child"


class Pool(Protocol):
    """
    What a slot needs of the pool it belongs to (the pool's module knows
    slots, not the other way round).

    @ivar childFDs: the listening sockets' descriptors in the parent, by
        the descriptor each has in a worker.
    """

    reactor: IReactorTime
    sockets: tuple[SharedSocket, ...]
    childFDs: dict[int, int]
    metricsDirectory: str | None
    log: Logger
    running: bool | int

    @property
    def config(self) -> ResponderConfig:
        """
        The configuration the workers serve.
        """

    @property
    def factory(self) -> ResponderFactory:
        """
        The parent's factory: the rules in force.
        """


#: A worker that dies is started again, but no sooner than this many seconds
#: after its last start: a worker that cannot start must not make the parent
#: spin.
RESTART_INTERVAL = 1.0

#: Seconds a stopping worker gets beyond the drain timeout before it is
#: killed: its drain aborts what is left at the timeout, so only a stuck
#: worker needs them.
KILL_MARGIN = 5.0


class WorkerSlot:
    """
    One of the N workers: starts its process, starts it again when it dies,
    and stops it.

    @ivar number: 1 to N.
    @ivar process: the protocol of the worker's process while it runs.
    """

    def __init__(self, pool: Pool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.process: WorkerProtocol | None = None
        self.channel: WorkerChannel | None = None
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
        ends = ChannelEnds() if pool.config.admin is not None else None
        if ends is not None:
            # The control API asks the worker through a channel of its own.
            childFDs[controlFD(pool.sockets)] = ends.child.fileno()
        protocol = WorkerProtocol(self)
        self._started = self._clock.seconds()
        cast(IReactorProcess, self._clock).spawnProcess(
            protocol,
            sys.executable,
            [sys.executable, "-m", CHILD_MODULE],
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
        if ends is not None:
            self.channel = ends.open(cast(IReactorSocket, self._clock), pool.factory)
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
