"""
The parent's side of each worker: start its process, start it again when
it dies or kill it when it is stuck, and stop it.
"""

import os
import sys
from typing import Protocol, cast

from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorProcess,
    IReactorSocket,
    IReactorTime,
)
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..config import ResponderConfig
from ..core import ResponderFactory
from ._channel import ChannelEnds, WorkerChannel
from ._health import Backoff, Heartbeat
from ._process import WorkerProtocol, describeExit, workerEnvironment
from ._spec import READY, SharedSocket, WorkerSpec, controlFD

#: The module a worker runs, as C{python -m CHILD_MODULE}.
CHILD_MODULE = "responder.workers.child"


class Pool(Protocol):
    """
    What a slot needs of the pool it belongs to (the pool's module knows
    slots, not the other way round).

    @ivar childFDs: by worker number, the descriptors in the parent that
        the worker inherits (its listening sockets, the shared counters) by
        the descriptor each has in the worker.
    @ivar statsFD: the shared counters' descriptor in a worker, if any.
    """

    reactor: IReactorTime
    sockets: tuple[SharedSocket, ...]
    childFDs: dict[int, dict[int, int]]
    statsFD: int | None
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

    def fail(self, reason: str) -> None:
        """
        Give up: a worker cannot start.  Stop everything, with C{reason}.
        """


#: A worker that dies is started again, but no sooner than this many seconds
#: after its last start: a worker that cannot start must not make the parent
#: spin.  A worker that dies before it is ready waits this long before its
#: first restart, twice as long before each next one.
RESTART_INTERVAL = 1.0

#: Failures in a row before it was ready after which a worker is not
#: restarted and the pool stops: with RESTART_INTERVAL 1, after about 7 s.
BOOT_FAILURES = 4

#: Seconds a worker gets to become ready (at least; the worker timeout if
#: longer): Python and Twisted take a second or two to start on a busy
#: machine, far longer than a heartbeat may be missed.
BOOT_TIMEOUT = 30.0

#: Seconds a stopping worker gets beyond the drain timeout before it is
#: killed: its drain aborts what is left at the timeout, so only a stuck
#: worker needs them.
KILL_MARGIN = 5.0


class WorkerSlot:
    """
    One of the N workers: starts its process, starts it again when it dies
    (backing off, and in the end giving up, when it dies before it is
    ready), kills it when its heartbeat stops, and stops it.

    @ivar number: 1 to N.
    @ivar process: the protocol of the worker's process while it runs.
    @ivar ready: whether the running process said it is ready; until then a
        SIGHUP would kill it, so one asked for waits.
    """

    def __init__(self, pool: Pool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.process: WorkerProtocol | None = None
        self.ready = False
        self.channel: WorkerChannel | None = None
        self._clock = pool.reactor
        self._started = 0.0
        self._restart: IDelayedCall | None = None
        self._stopped: Deferred[None] | None = None
        self._kill: IDelayedCall | None = None
        self._hangupWaiting = False
        self._killedBecause = ""
        timeout = pool.config.workerTimeout
        self._heartbeat = Heartbeat(self._clock, timeout, self._silent)
        self._backoff = Backoff(RESTART_INTERVAL, BOOT_FAILURES)

    def start(self) -> None:
        """
        Start the worker's process and send it its L{WorkerSpec}.
        """
        self._restart = None
        self.ready = False
        self._killedBecause = ""
        pool = self.pool
        # Request lines that go straight to stdout go to the parent's own;
        # otherwise the worker sends log events for the parent to relay to
        # its observers (a log file, syslog, JSON).  Stderr (a traceback of
        # a worker that failed to start, say) is relayed in any case, as
        # twistd may have pointed its own at /dev/null; it also carries the
        # worker's READY and ALIVE.
        stdout: int | str = 1 if pool.config.requestLog == "stdout" else "r"
        childFDs: dict[int, int | str] = {
            0: "w",
            1: stdout,
            2: "r",
            **pool.childFDs[self.number],
        }
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
            env=workerEnvironment(),
            childFDs=childFDs,
        )
        spec = WorkerSpec(
            self.number,
            os.getpid(),
            pool.config,
            pool.sockets,
            pool.statsFD,
            heartbeat=min(1.0, pool.config.workerTimeout / 4),
        )
        protocol.transport.write(spec.toJSON())
        protocol.transport.closeStdin()
        self.process = protocol
        self._heartbeat.start(max(BOOT_TIMEOUT, pool.config.workerTimeout))
        if ends is not None:
            self.channel = ends.open(cast(IReactorSocket, self._clock), pool.factory)
        pool.log.info(
            "started worker {number} (pid {pid})", number=self.number, pid=protocol.pid
        )

    @property
    def log(self) -> Logger:
        return self.pool.log

    def heard(self, message: bytes) -> None:
        """
        The worker said C{message} (L{READY} or L{ALIVE}).
        """
        self._heartbeat.beat()
        if message == READY and not self.ready:
            self.ready = True
            self._backoff.succeeded()
            if self._hangupWaiting:
                self._hangupWaiting = False
                self.signal("HUP")

    def hangup(self) -> None:
        """
        Have the worker reload: at once if it is ready, else once it is.
        Its own handler is installed by then; before, SIGHUP would kill it.
        """
        if self.ready:
            self.signal("HUP")
        elif self.process is not None:
            self._hangupWaiting = True

    def _silent(self) -> None:
        """
        No heartbeat for the worker timeout: its reactor is blocked, or the
        process is stopped.  Kill it (nothing less reaches a stopped
        process); its end brings the restart.
        """
        if self.process is None or self._stopped is not None:
            return
        timeout = self.pool.config.workerTimeout
        if not self.ready:
            timeout = max(BOOT_TIMEOUT, timeout)
        self._killedBecause = f" after sending no heartbeat for {timeout:g} s"
        self.pool.log.warn(
            "worker {number} (pid {pid}) is stuck: no heartbeat for {timeout:g} s; "
            "killing it",
            number=self.number,
            pid=self.process.pid,
            timeout=timeout,
        )
        self.signal("KILL")

    def ended(self, protocol: "WorkerProtocol", reason: Failure) -> None:
        """
        The worker's process has exited: if it was not asked to, start it
        again, after a pause if it had only just started, backing off if it
        never got ready, or give up after too many such failures in a row.
        """
        self.process = None
        self._heartbeat.stop()
        self._hangupWaiting = False
        if self._stopped is not None:
            if self._kill is not None and self._kill.active():
                self._kill.cancel()
            stopped, self._stopped = self._stopped, None
            stopped.callback(None)
            return
        how = describeExit(reason) + self._killedBecause
        log = self.pool.log
        who = f"worker {self.number} (pid {protocol.pid})"
        if not self.pool.running:
            # It died while the pool is stopping, before being told to stop.
            log.warn("{who} {how}", who=who, how=how)
            return
        if self.ready:
            delay = max(0.0, self._started + RESTART_INTERVAL - self._clock.seconds())
            log.warn("{who} {how}; restarting it", who=who, how=how)
        else:
            backoff = self._backoff.failed()
            if backoff is None:
                self.pool.fail(
                    f"{who} {how} before it was ready, "
                    f"{self._backoff.failures} times in a row; giving up"
                )
                return
            delay = backoff
            log.warn(
                "{who} {how} before it was ready ({failures} in a row); "
                "restarting it in {delay:g} s",
                who=who,
                how=how,
                failures=self._backoff.failures,
                delay=delay,
            )
        self._restart = self._clock.callLater(delay, self.start)

    def stop(self) -> Deferred[None]:
        """
        Ask the worker to stop, and kill it if it has not exited within the
        drain timeout and a margin.

        @return: a C{Deferred} that fires once the process has exited.
        """
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        self._heartbeat.stop()
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
