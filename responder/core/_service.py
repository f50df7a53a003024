"""
The server of one process: listening endpoints around one factory, and a
graceful stop.
"""

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

    def __init__(self, factory: ResponderFactory, reloadOnHangup: bool = True) -> None:
        """
        @param reloadOnHangup: whether SIGHUP reloads the rules file, when
            there is one; a supervisor that handles SIGHUP itself (the
            worker pool) says no.
        """
        super().__init__()  # type: ignore[no-untyped-call]
        self.factory = factory
        #: What a stop waits for before it stops listening (an agent that
        #: tells the load balancer to drain first).
        self.beforeStop: list[Callable[[], Deferred[None]]] = []
        self._hangup: HangupHandler | None = None
        if reloadOnHangup and factory.config.rules is not None:
            # Otherwise SIGHUP keeps its usual meaning: a terminal that
            # went away ends a server run by hand.
            self._hangup = HangupHandler(factory.clock, self.reload)

    def privilegedStartService(self) -> None:
        raiseFileLimit(self.log)
        with exitOnListenFailure():
            super().privilegedStartService()  # type: ignore[no-untyped-call]

    def startService(self) -> None:
        with exitOnListenFailure():
            super().startService()  # type: ignore[no-untyped-call]
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
