"""
The server of one process: listening endpoints around one factory, and a
graceful stop.
"""

import math
import os
import resource
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress
from twisted.logger import Logger

from ..config import ResponderConfig
from ._factory import ResponderFactory
from ._hangup import HangupHandler
from ._listening import EndpointService, ListenFailed


class ResponderService(MultiService):
    """
    The server of one process: one L{EndpointService} per endpoint around one
    factory.  Stopping it stops listening at once, then gives open
    connections up to C{drainTimeout} seconds to finish before aborting
    them, so a restart does not cut off answers in flight.
    """

    log = Logger(namespace="responder")

    def __init__(self, factory: ResponderFactory, pooled: bool = False) -> None:
        """
        @param pooled: whether this service only listens for a worker pool,
            whose workers serve, reload the rules file on SIGHUP (the pool
            passes the signal on) and log their own summaries when they
            stop; otherwise this service does all three.
        """
        super().__init__()  # type: ignore[no-untyped-call]
        self.factory = factory
        self._pooled = pooled
        #: What a stop waits for before it stops listening (an agent that
        #: tells the load balancer to drain first).
        self.beforeStop: list[Callable[[], Deferred[None]]] = []
        self._hangup: HangupHandler | None = None
        if not pooled and factory.config.rules is not None:
            # Otherwise SIGHUP keeps its usual meaning: a terminal that
            # went away ends a server run by hand.
            self._hangup = HangupHandler(factory.clock, self.reload)

    def privilegedStartService(self) -> None:
        raiseFileLimit(self.log)
        with exitOnListenFailure():
            super().privilegedStartService()  # type: ignore[no-untyped-call]

    def startService(self) -> None:
        self.factory.logRules("loaded")
        with exitOnListenFailure():
            super().startService()  # type: ignore[no-untyped-call]
        budget = descriptorBudget()
        for child in self:
            if isinstance(child, EndpointService) and not child.purpose:
                assert child.port is not None, "listening started above"
                self.factory.listeningOn(child.port, budget)
        if self._hangup is not None:
            self._hangup.install()

    def reload(self) -> None:
        """
        Reload what can be reloaded: the rules file.
        """
        self.factory.reloadRules()

    def stopService(self) -> Deferred[None]:
        if self._hangup is not None:
            self._hangup.uninstall()
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        for announce in self.beforeStop:
            await announce()
        await super().stopService()  # type: ignore[no-untyped-call]
        await self.factory.drain(self.config.drainTimeout)
        if not self._pooled:
            self.log.info(
                "stopped after answering {requests} requests",
                requests=self.factory.stats.requests,
            )

    @property
    def config(self) -> ResponderConfig:
        return self.factory.config

    def addresses(self) -> list[IAddress]:
        """
        The addresses being listened on now, in the order of the endpoints:
        with port 0 in an endpoint, this says which port was picked.
        """
        return [
            child.port.getHost()
            for child in self
            if isinstance(child, EndpointService)
            and child.port is not None
            and not child.purpose
        ]


@contextmanager
def exitOnListenFailure() -> Iterator[None]:
    """
    Turn L{ListenFailed} into a one-line exit: a server that cannot listen
    has nothing to do, and a traceback would hide the reason (usually an
    address already in use).
    """
    try:
        yield
    except ListenFailed as e:
        raise SystemExit(f"responder: {e}") from None


def descriptorBudget(reserve: int = 32) -> float:
    """
    How many more descriptors this process may open before C{accept} fails
    with C{EMFILE}: the soft limit on open files, less those open now and a
    reserve (log files, a scrape of the metrics endpoint, a rules file
    being read).  Accepting pauses at this many connections.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return math.inf
    try:
        used = len(os.listdir("/proc/self/fd"))
    except OSError:
        used = reserve
    return max(1, soft - used - reserve)


def raiseFileLimit(log: Logger) -> None:
    """
    Raise the soft limit on open files to the hard limit.  Each connection
    is a descriptor; at the usual soft limit of 1024 a burst would make
    Twisted accept and at once drop connections, which clients see as EOF
    with no answer.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        log.info(
            "raised the open file limit from {soft} to {hard}", soft=soft, hard=hard
        )
    else:
        log.info("open file limit: {soft}", soft=soft)
