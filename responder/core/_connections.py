"""
The open connections of a factory, their deadlines, and draining them
when the server stops.
"""

from collections.abc import Callable

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from ._host import Connection
from ._stats import ResponderStats


class ConnectionRegistry:
    """
    Track open connections and close each when its deadline passes.

    Deadlines take one sweep, not a timer per connection: a C{LoopingCall}
    checks every open connection once a second (or at a quarter of the
    timeout, if shorter), closing those past their deadline and aborting
    those that were already closing and still are (a client that does not
    read).  The sweep stops itself when no connection is open, so an idle
    server has no timer pending.

    @ivar connections: the connections open now.
    @ivar abortDelay: seconds a connection that will not close gets after
        its polite close, before it is aborted.
    """

    abortDelay = 5.0

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

    def add(self, connection: Connection) -> None:
        """
        Track a new connection and give it its deadline.
        """
        connection.deadline = self._clock.seconds() + self._timeout
        self.connections.add(connection)
        if not self._sweeper.running:
            self._sweeper.start(self._sweepInterval, now=False)

    def remove(self, connection: Connection) -> None:
        """
        Forget a connection that has gone.
        """
        self.connections.discard(connection)
        if self._drained is not None and not self.connections:
            self._finishDrain()

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
