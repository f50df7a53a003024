"""
Listening sockets inherited from the parent, adopted by a worker.
"""

import os
import socket
from typing import cast

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLServerConnectionCreator,
    IProtocolFactory,
    IReactorFDSet,
    IReactorSocket,
    IReactorTime,
    IReadDescriptor,
)
from twisted.internet.protocol import ServerFactory
from twisted.python.failure import Failure

from ..core import serverEndpoint
from ._spec import SharedSocket


class AdoptedSocket:
    """
    A listening socket inherited from the parent, served by this worker.

    It stands in for the reactor while the worker parses the socket's
    endpoint description (see L{responder.workers.workerDescription}):
    whichever listen method the endpoint calls adopts the inherited socket
    instead of opening one, so C{ssl:} and C{haproxy:} wrap the factory
    exactly as they do in one process.

    @ivar port: the listening port, once adopted.
    """

    def __init__(self, reactor: IReactorTime, shared: SharedSocket) -> None:
        self.reactor = reactor
        self.shared = shared
        self.port: IListeningPort | None = None
        self._factory: IProtocolFactory | None = None

    def listen(self, factory: IProtocolFactory) -> IListeningPort:
        """
        Serve the socket with C{factory}, wrapped as its endpoint wraps it.

        @raise SystemExit: with a one-line message, if it cannot be adopted.
        """
        failures: list[Failure] = []
        endpoint = serverEndpoint(self, self.shared.description)
        endpoint.listen(factory).addErrback(failures.append)
        if failures:
            reason = failures[0].getErrorMessage()
            raise SystemExit(
                f"responder: cannot serve {self.shared.description}: {reason}"
            )
        assert self.port is not None, "adopting is synchronous"
        return self.port

    def listenTCP(
        self,
        port: int,
        factory: IProtocolFactory,
        backlog: int = 50,
        interface: str = "",
    ) -> IListeningPort:
        return self._adopt(factory)

    def listenUNIX(
        self,
        address: str,
        factory: IProtocolFactory,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: bool = False,
    ) -> IListeningPort:
        return self._adopt(factory)

    def listenSSL(
        self,
        port: int,
        factory: IProtocolFactory,
        contextFactory: IOpenSSLServerConnectionCreator,
        backlog: int = 50,
        interface: str = "",
    ) -> IListeningPort:
        # Imported here: TLS needs pyOpenSSL, an optional dependency.
        from twisted.protocols.tls import TLSMemoryBIOFactory

        return self._adopt(TLSMemoryBIOFactory(contextFactory, False, factory))

    def _adopt(self, factory: IProtocolFactory) -> IListeningPort:
        shared = self.shared
        self.port = cast(IReactorSocket, self.reactor).adoptStreamPort(
            shared.fd,
            socket.AddressFamily(shared.family),
            # Typed narrower than it is: any protocol factory will do.
            cast(ServerFactory, factory),
        )
        # adoptStreamPort works on a copy of the descriptor.
        os.close(shared.fd)
        self._factory = factory
        return self.port

    def stopAccepting(self) -> Deferred[None]:
        """
        Stop accepting connections on the socket, and close it if that
        leaves the other processes serving it alone.
        """
        assert self.port is not None and self._factory is not None
        if self.shared.family == socket.AF_UNIX:
            # stopListening would also remove the socket's path, which the
            # parent owns and other workers may still be serving.  Once the
            # parent has removed it no client can reach the socket anyway.
            reader = cast(IReadDescriptor, self.port)
            cast(IReactorFDSet, self.reactor).removeReader(reader)
            self._factory.doStop()
            return succeed(None)
        stopped = self.port.stopListening()
        return succeed(None) if stopped is None else stopped
