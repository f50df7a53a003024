"""
From a configuration to a running service: listening endpoints, the
factory, and a graceful stop.
"""

import resource
from collections.abc import Iterator
from contextlib import contextmanager

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import (
    IAddress,
    IListeningPort,
    IReactorTime,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._address import describeAddress
from ._config import ResponderConfig
from ._factory import ResponderFactory
from ._reactor import installedReactor


class ListenFailed(Exception):
    """
    An endpoint could not listen.  The message is one line for operators.
    """


class EndpointService(Service):
    """
    Listen on one endpoint while running, and log the address actually
    bound, so that C{--port 0} tells scripts which port it picked.

    Unlike L{twisted.application.internet.StreamServerEndpointService},
    this keeps the endpoint's description for its messages and exposes the
    listening port.

    @ivar port: the listening port, once listening.
    """

    log = Logger(namespace="responder")

    def __init__(
        self,
        description: str,
        endpoint: IStreamServerEndpoint,
        factory: ResponderFactory,
    ) -> None:
        self.description = description
        self.endpoint = endpoint
        self.factory = factory
        self.port: IListeningPort | None = None
        self._listening: Deferred[IListeningPort] | None = None

    def privilegedStartService(self) -> None:
        """
        Listen before twistd drops privileges, so low ports work with
        C{--uid}.

        @raise ListenFailed: if the endpoint failed to listen at once, as
            TCP, unix and systemd endpoints do; there is no point starting.
        """
        super().privilegedStartService()  # type: ignore[no-untyped-call]
        self._listen()

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self._listen()

    def _listen(self) -> None:
        if self._listening is not None:
            return
        failures: list[Failure] = []
        self._listening = self.endpoint.listen(self.factory)
        self._listening.addCallbacks(self._listened, failures.append)
        if failures:
            self._listening = None
            reason = failures[0].getErrorMessage()
            raise ListenFailed(f"cannot listen on {self.description}: {reason}")

    def _listened(self, port: IListeningPort) -> IListeningPort:
        self.port = port
        self.log.info("listening on {address}", address=describeAddress(port.getHost()))
        return port

    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        listening, self._listening = self._listening, None
        port, self.port = self.port, None
        if port is not None:
            stopped = port.stopListening()
            return succeed(None) if stopped is None else stopped
        if listening is not None:
            listening.cancel()
        return succeed(None)


class ResponderService(MultiService):
    """
    The whole server: one L{EndpointService} per endpoint around one
    factory.  Stopping it stops listening at once, then gives open
    connections up to C{drainTimeout} seconds to finish before aborting
    them, so a restart does not cut off answers in flight.
    """

    log = Logger(namespace="responder")

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

    def stopService(self) -> Deferred[None]:
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        await super().stopService()  # type: ignore[no-untyped-call]
        await self.factory.drain(self.config.drainTimeout)
        if self.factory.requestLog is not None:
            self.factory.requestLog.flush()

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
            if isinstance(child, EndpointService) and child.port is not None
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
    """
    if reactor is None:
        reactor = installedReactor()
    factory = ResponderFactory(config, clock=reactor)
    top = ResponderService(factory)
    for description in config.endpoints:
        endpoint = serverFromString(reactor, description)
        service = EndpointService(description, endpoint, factory)
        service.setServiceParent(top)  # type: ignore[no-untyped-call]
    return top
