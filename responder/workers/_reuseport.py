"""
A listening socket of its own for each worker: C{SO_REUSEPORT}.

The parent of C{--workers N} makes, for each C{tcp:}, C{tcp6:} and
C{ssl:} endpoint (also behind C{haproxy:}), N listening sockets bound to
the same address, each with C{SO_REUSEPORT} set before it is bound; the
kernel spreads new connections among them by a hash of their addresses,
and worker I{i} serves socket I{i} alone.  C{docs/workers.md} says why
this rather than one socket all workers accept from.

Twisted never sets C{SO_REUSEPORT} on a port it listens with (Twisted
26.10 has C{makeBinding(reusePort=True)}, older ones nothing), so this is
the one module that relies on a private detail of Twisted:
C{tcp.Port.startListening} makes its socket with C{createInternetSocket}
and binds it after, which is where L{ReusePort} sets the option (as
Crossbar's C{sharedport.py} does).  C{tests/workers/test_reuseport.py}
checks that the option reaches the bound socket.
"""

import socket
import sys
from typing import cast

from twisted.internet import tcp
from twisted.internet.abstract import isIPv6Address
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLServerConnectionCreator,
    IProtocolFactory,
    IReactorTime,
)

#: Whether the kernel spreads connections among the sockets of one
#: address: Linux (3.9 and later) does; BSD and macOS give them all to one
#: socket, so there the pool shares one socket whatever it is asked.
SPREADS = sys.platform.startswith("linux")


class ReusePort(tcp.Port):
    """
    A TCP port whose socket has C{SO_REUSEPORT} set before it is bound.
    """

    def createInternetSocket(self) -> socket.socket:
        made: socket.socket = super().createInternetSocket()  # type: ignore[no-untyped-call]
        made.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        return made


class PortGroup:
    """
    Stands in for the reactor while the parent parses one endpoint: its
    C{listenTCP} (and C{listenSSL}) makes C{count} listening L{ReusePort}s
    on one address, for port 0 the port the kernel picked for the first,
    and returns the first, which the endpoint's service keeps as its own
    (it logs its address, and closes it at the stop).

    @ivar ports: the ports made, one per worker, in order.
    """

    def __init__(self, reactor: IReactorTime, count: int) -> None:
        self.reactor = reactor
        self.count = count
        self.ports: list[IListeningPort] = []

    def listenTCP(
        self,
        port: int,
        factory: IProtocolFactory,
        backlog: int = 50,
        interface: str = "",
    ) -> IListeningPort:
        """
        @raise CannotListenError: as the reactor's own would: with
            C{SO_REUSEPORT} a bind succeeds beside any socket of the same
            user that has it too, such as another pool's; a bind without it
            first fails as one process would, on an address in use.
        """
        if port != 0:
            checkFree(interface, port)

        def make(number: int) -> IListeningPort:
            made = ReusePort(number, factory, backlog, interface, self.reactor)
            made.startListening()
            return cast(IListeningPort, made)

        first = make(port)
        self.ports = [first]
        host = first.getHost()
        assert isinstance(host, IPv4Address | IPv6Address)
        picked = host.port
        try:
            for _ in range(self.count - 1):
                self.ports.append(make(picked))
        except CannotListenError:
            # Closed once the reactor runs, if it ever does: a pool that
            # cannot listen exits.
            for made in self.ports:
                made.stopListening()
            self.ports = []
            raise
        return first

    def listenSSL(
        self,
        port: int,
        factory: IProtocolFactory,
        contextFactory: IOpenSSLServerConnectionCreator,
        backlog: int = 50,
        interface: str = "",
    ) -> IListeningPort:
        # The parent never accepts: each worker wraps its own factory in TLS
        # when it adopts its socket.
        return self.listenTCP(port, factory, backlog, interface)

    def stopOthers(self) -> Deferred[None]:
        """
        Close the ports but the first, which the endpoint's service closes.
        """
        stopping: list[Deferred[None]] = []
        for made in self.ports[1:]:
            stopped = made.stopListening()
            if stopped is not None:
                stopping.append(stopped)
        return gatherResults(stopping).addCallback(lambda _: None)


def checkFree(interface: str, port: int) -> None:
    """
    Bind a socket without C{SO_REUSEPORT} to C{interface} and C{port}, then
    close it: it fails if anything listens there.

    @raise CannotListenError: if it cannot be bound.
    """
    family = socket.AF_INET6 if isIPv6Address(interface) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As Twisted's own ports: a connection in TIME_WAIT is no listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            address = socket.getaddrinfo(
                interface or None,
                port,
                family,
                socket.SOCK_STREAM,
                0,
                socket.AI_PASSIVE | socket.AI_NUMERICHOST,
            )[0][4]
            probe.bind(address)
        except OSError as e:
            raise CannotListenError(interface, port, e) from None
