"""
What the parent learns of a worker's health, and what it does about it: a
heartbeat that must keep coming (a worker whose reactor is blocked sends
none), and a backoff for workers that fail before they are ready, as
gunicorn's arbiter has.
"""

from collections.abc import Callable

from twisted.internet.interfaces import IDelayedCall, IReactorTime


class Heartbeat:
    """
    Call C{onSilence} when nothing was heard from a worker for C{timeout}
    seconds since it started or since its last heartbeat.  One
    C{IDelayedCall}, pushed back by each beat.
    """

    def __init__(
        self, clock: IReactorTime, timeout: float, onSilence: Callable[[], None]
    ) -> None:
        self.clock = clock
        self.timeout = timeout
        self._onSilence = onSilence
        self._call: IDelayedCall | None = None

    def start(self, first: float | None = None) -> None:
        """
        Start watching, giving the first message C{first} seconds (the
        timeout if not given).
        """
        self.stop()
        wait = self.timeout if first is None else first
        self._call = self.clock.callLater(wait, self._silent)

    def beat(self) -> None:
        if self._call is not None and self._call.active():
            self._call.reset(self.timeout)

    def stop(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _silent(self) -> None:
        self._call = None
        self._onSilence()


class Backoff:
    """
    Delays before restarting a worker that failed before it was ready:
    C{base}, then twice as long each time in a row, and no more restarts
    after C{limit} failures in a row.  A worker that fails at start (a rules
    file that has gone bad, a socket it cannot adopt) fails again; an
    endless restart loop would hide that and spend the machine.
    """

    def __init__(self, base: float, limit: int) -> None:
        self.base = base
        self.limit = limit
        self.failures = 0

    def failed(self) -> float | None:
        """
        Count one more failure in a row.

        @return: seconds to wait before the next start, or C{None} to give
            up.
        """
        self.failures += 1
        if self.failures >= self.limit:
            return None
        return float(self.base * 2 ** (self.failures - 1))

    def succeeded(self) -> None:
        self.failures = 0
