"""
From a configuration to a running service: listening endpoints, the
factory, and a graceful stop.
"""

import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, cast

from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import (
    IAddress,
    IReactorFromThreads,
    IReactorTime,
)
from twisted.logger import Logger

from ._config import ResponderConfig
from ._factory import ResponderFactory
from ._listening import EndpointService, ListenFailed
from ._metrics import (
    ResponderCollector,
    StatsSource,
    factorySource,
    makeMetricsService,
)
from ._reactor import installedReactor


class ResponderService(MultiService):
    """
    The whole server: one L{EndpointService} per endpoint around one
    factory.  Stopping it stops listening at once, then gives open
    connections up to C{drainTimeout} seconds to finish before aborting
    them, so a restart does not cut off answers in flight.
    """

    log = Logger(namespace="responder")

    _previousHangup: Any = None

    def __init__(self, factory: ResponderFactory) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.factory = factory

    def privilegedStartService(self) -> None:
        raiseFileLimit(self.log)
        with _exitOnListenFailure():
            super().privilegedStartService()  # type: ignore[no-untyped-call]

    def startService(self) -> None:
        with _exitOnListenFailure():
            super().startService()  # type: ignore[no-untyped-call]
        if self.handlesHangup():
            self._previousHangup = signal.signal(signal.SIGHUP, self._hangup)

    def handlesHangup(self) -> bool:
        """
        Whether SIGHUP is taken over: to reload the rules file, when there
        is one.  Otherwise SIGHUP keeps its usual meaning (a terminal that
        went away ends a server run by hand).
        """
        return self.config.rules is not None

    def _hangup(self, number: int, frame: FrameType | None) -> None:
        """
        SIGHUP: reload the rules, from the reactor's thread rather than
        from inside whatever the signal interrupted.
        """
        clock = self.factory.clock
        if IReactorFromThreads.providedBy(clock):
            cast(IReactorFromThreads, clock).callFromThread(self.reload)
        else:
            self.reload()

    def reload(self) -> None:
        """
        Reload what can be reloaded: the rules file.
        """
        self.factory.reloadRules()

    def stopService(self) -> Deferred[None]:
        if self._previousHangup is not None:
            signal.signal(signal.SIGHUP, self._previousHangup)
            self._previousHangup = None
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        await super().stopService()  # type: ignore[no-untyped-call]
        await self.factory.drain(self.config.drainTimeout)

    @property
    def config(self) -> ResponderConfig:
        return self.factory.config

    def statsSource(self) -> StatsSource:
        """
        Where the metrics endpoint reads the counters: this process's
        factory.
        """
        return factorySource(self.factory)

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
def _exitOnListenFailure() -> Iterator[None]:
    """
    Turn L{ListenFailed} into a one-line exit: a server that cannot listen
    has nothing to do, and a traceback would hide the reason (usually an
    address already in use).
    """
    try:
        yield
    except ListenFailed as e:
        raise SystemExit(f"responder: {e}") from None


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


def makeService(
    config: ResponderConfig, reactor: IReactorTime | None = None
) -> ResponderService:
    """
    Build the service that serves C{config}: a L{ResponderService} with one
    listening child per endpoint.  The twistd plugin and the tac file both
    call this, and so can an application embedding responder.

    With C{config.workers} above 1 it is a L{WorkerPoolService}, whose
    worker processes serve what it listens on.
    """
    if reactor is None:
        reactor = installedReactor()
    factory = ResponderFactory(config, clock=reactor)
    if config.workers > 1:
        # Imported when needed: the pool builds on this module.
        from ._workers import WorkerPoolService

        top: ResponderService = WorkerPoolService(factory, reactor)
    else:
        top = ResponderService(factory)
    for description in config.endpoints:
        endpoint = serverFromString(reactor, description)
        service = EndpointService(description, endpoint, factory)
        service.setServiceParent(top)  # type: ignore[no-untyped-call]
    if config.metrics is not None:
        collector = ResponderCollector(top.statsSource())
        metrics = makeMetricsService(
            config.metrics, collector, reactor, timeout=config.timeout
        )
        metrics.setServiceParent(top)  # type: ignore[no-untyped-call]
    return top
