"""
The open connections of a factory, their deadlines, and draining them
when the server stops.
"""

import math
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from ._host import Connection
from ._stats import ResponderStats


@runtime_checkable
class Pausable(Protocol):
    """
    A listening port that can stop and start accepting, as Twisted's TCP
    and unix ports (file descriptors) can.
    """

    def stopReading(self) -> None: ...

    def startReading(self) -> None: ...


class ConnectionRegistry:
    """
    Track open connections and close each when its deadline passes.

    Deadlines take one sweep, not a timer per connection: a C{LoopingCall}
    checks every open connection once a second (or at a quarter of the
    timeout, if shorter), closing those past their deadline and aborting
    those that were already closing and still are (a client that does not
    read).  The sweep stops itself when no connection is open, so an idle
    server has no timer pending.

    While C{capacity} connections are open, the listening ports stop
    accepting, as HAProxy does at C{maxconn}: new clients wait in the
    kernel's listen queue instead of being accepted only to be closed, and
    the process never runs out of descriptors (which makes Twisted accept
    and drop connections, and log each time).  Twisted's ports accept up to
    C{numberAccepts} connections in one go, which would overshoot the
    capacity by most of a batch; so within C{headroom} of it, each batch is
    kept to the slots left, at the end of every reactor iteration that
    added connections (after the port has grown its batch, before it
    accepts again).  (C{numberAccepts} is a plain attribute of Twisted's
    TCP and unix ports, read at each batch;
    C{tests/e2e/test_descriptors.py} fails if that stops holding.)

    @ivar connections: the connections open now.
    @ivar capacity: connections open at once before accepting pauses.
    @ivar headroom: how close to C{capacity} accept batches are watched.
    @ivar abortDelay: seconds a connection that will not close gets after
        its polite close, before it is aborted.
    """

    abortDelay = 5.0
    pauseLogInterval = 10.0
    headroom = 1000

    def __init__(
        self, clock: IReactorTime, timeout: float, stats: ResponderStats, log: Logger
    ) -> None:
        self.connections: set[Connection] = set()
        self._clock = clock
        self._timeout = timeout
        self._stats = stats
        self._log = log
        self._sweeper = LoopingCall(self.sweep)
        self._sweeper.clock = clock
        # At least 10 ms: a tiny timeout must not make the sweep run at
        # every reactor iteration.
        self._sweepInterval = max(0.01, min(1.0, timeout / 4))
        self._drained: Deferred[None] | None = None
        self._drainDeadline: IDelayedCall | None = None
        self._drainFinished: Callable[[], None] = lambda: None
        self.capacity: float = math.inf
        self._ports: list[Pausable] = []
        self._paused = False
        self._fitting = False
        self._lastPauseLogged: float | None = None

    def listeningOn(self, port: object, capacity: float) -> None:
        """
        Pause and resume C{port} with the others: stop accepting while
        C{capacity} connections are open.
        """
        if isinstance(port, Pausable):
            self._ports.append(port)
        self.capacity = capacity
        self._fitBatches()

    def add(self, connection: Connection) -> None:
        """
        Track a new connection, count it, and give it its deadline.
        """
        connection.deadline = self._clock.seconds() + self._timeout
        self.connections.add(connection)
        self._stats.connections += 1
        free = self.capacity - len(self.connections)
        if free <= 0:
            self._pause()
        elif free < self.headroom and not self._fitting:
            self._fitting = True
            self._clock.callLater(0, self._fitBatches)
        if not self._sweeper.running:
            self._sweeper.start(self._sweepInterval, now=False)

    def remove(self, connection: Connection) -> None:
        """
        Forget a connection that has gone.
        """
        self.connections.discard(connection)
        if self._paused and len(self.connections) < self.capacity:
            self._paused = False
            self._fitBatches()
            for port in self._ports:
                port.startReading()
        if self._drained is not None and not self.connections:
            self._finishDrain()

    def _fitBatches(self) -> None:
        """
        Let no port accept more connections in one go than there are
        slots left.
        """
        self._fitting = False
        free = self.capacity - len(self.connections)
        for port in self._ports:
            batch = getattr(port, "numberAccepts", None)
            if batch is not None and batch > free:
                port.numberAccepts = max(1, int(free))  # type: ignore[attr-defined]

    def _pause(self) -> None:
        if self._paused or not self._ports:
            return
        self._paused = True
        for port in self._ports:
            port.stopReading()
        now = self._clock.seconds()
        last = self._lastPauseLogged
        if last is None or not 0 <= now - last < self.pauseLogInterval:
            self._lastPauseLogged = now
            self._log.info(
                "{count} connections open: not accepting more until one closes"
                " (said at most every {interval:g} s)",
                count=len(self.connections),
                interval=self.pauseLogInterval,
            )

    def sweep(self) -> None:
        """
        Close connections whose deadline has passed, and abort those that
        were already closing and still have not gone: a client that never
        reads can keep a polite close waiting for ever.
        """
        if not self.connections:
            # Stopping here rather than when the last connection closes
            # keeps a busy server from restarting the timer all the time.
            self._sweeper.stop()
            return
        now = self._clock.seconds()
        for connection in [c for c in self.connections if c.deadline <= now]:
            if connection.closing:
                self._stats.aborted += 1
                connection.transport.abortConnection()
            else:
                if not connection.holding:
                    self._stats.timedOut += 1
                connection.deadline = now + self.abortDelay
                connection.close()

    def drain(self, timeout: float, finished: Callable[[], None]) -> Deferred[None]:
        """
        Wait until every open connection has finished, or until C{timeout}
        seconds have passed, then abort what is left.

        @param finished: called once no connection is left, before the
            result fires.
        @return: a C{Deferred} that fires once no connection is open.
        """
        if not self.connections:
            finished()
            return succeed(None)
        self._log.info(
            "waiting up to {timeout:g} s for {count} open connections to finish",
            timeout=timeout,
            count=len(self.connections),
        )
        self._drainFinished = finished
        self._drained = Deferred()
        self._drainDeadline = self._clock.callLater(timeout, self._abortAll)
        for connection in list(self.connections):
            connection.drain()
        return self._drained

    def _finishDrain(self) -> None:
        drained, self._drained = self._drained, None
        if self._drainDeadline is not None and self._drainDeadline.active():
            self._drainDeadline.cancel()
        self._drainDeadline = None
        self._drainFinished()
        drained.callback(None)  # type: ignore[union-attr]

    def _abortAll(self) -> None:
        self._log.warn(
            "aborting {count} connections that did not finish in time",
            count=len(self.connections),
        )
        for connection in list(self.connections):
            self._stats.aborted += 1
            connection.transport.abortConnection()
