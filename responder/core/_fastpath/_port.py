"""
The port of the fast path: it reads from the connections it accepts before
it registers them.
"""

import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import tcp
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from ._dispatch import dispatchDirectly
from ._transport import SendAtOnceServer, TCPAddress

_log = Logger()


class _Listener(socket.socket):
    """
    A listening socket whose C{accept} skips what the C{socket} module's
    does for every connection and a TCP port does not need.  It turns the
    listener's family and type into enums; and it wraps each connection in
    C{socket.socket}, a Python subclass whose instances the garbage
    collector tracks and whose C{close} is two Python calls deep.  A
    connection gets the C type itself, C{socket.SocketType}, which has
    every method a transport uses: that alone took 14 % of the
    instructions a one-shot connection cost (C{benchmarks/percall.sh}).
    """

    __slots__ = ()

    def accept(self) -> tuple[socket.SocketType, Any]:  # type: ignore[override]
        fd, address = self._accept()  # type: ignore[attr-defined]
        family = socket.AF_INET if len(address) == 2 else socket.AF_INET6
        return socket.SocketType(family, socket.SOCK_STREAM, 0, fd), address


class ReadAtOncePort(tcp.Port):
    """
    A C{tcp.Port} whose connections are L{SendAtOnceServer}s that read as
    soon as the port has accepted them.

    @ivar fresh: the connections accepted in this C{doRead}, while it runs.
    @ivar built: the address last built for C{buildProtocol}.
    @ivar afterReads: called once the fresh connections have read, before
        they are registered.
    """

    transport = SendAtOnceServer
    fresh: list[SendAtOnceServer] | None = None
    built: TCPAddress | None = None
    afterReads: Callable[[], object] = staticmethod(lambda: None)

    def _buildAddr(self, address: tuple[Any, ...]) -> TCPAddress:
        """
        Twisted's own C{tcp.Port._buildAddr}, keeping what it built.
        """
        built: TCPAddress = self._addressType("TCP", *address)
        self.built = built
        return built

    def doRead(self) -> None:
        """
        Accept as Twisted does, then read from each new connection, let
        C{afterReads} answer, and register only what is still open.
        """
        if type(self.socket) is socket.socket:
            # Here rather than when the port was made fast: it may not have
            # been listening yet.
            self.socket.__class__ = _Listener
        fresh: list[SendAtOnceServer] = []
        self.fresh = fresh
        try:
            super().doRead()  # type: ignore[no-untyped-call]
        finally:
            self.fresh = None
            self.built = None
        # Each step on its own, and errors logged, as Twisted's doRead does:
        # an error escaping to the reactor would close the listening port,
        # and whatever went wrong, no connection is left unregistered.
        _each(fresh, SendAtOnceServer.readAtOnce, "reading from")
        try:
            self.afterReads()
        except BaseException:
            _log.failure("Unhandled error after reading from new connections")
        _each(fresh, SendAtOnceServer.release, "registering")


def _each(
    transports: list[SendAtOnceServer],
    step: Callable[[SendAtOnceServer], None],
    doing: str,
) -> None:
    """
    Take C{step} for each of C{transports}, logging what goes wrong for
    one ("Unhandled error C{doing} ...") and going on with the next.
    """
    for transport in transports:
        try:
            step(transport)
        except BaseException:
            _log.failure(
                "Unhandled error {doing} {transport}", doing=doing, transport=transport
            )


#: What the reactor dispatches without a logging context.
_DIRECT = frozenset({SendAtOnceServer, ReadAtOncePort})


def sendAtOnce(
    port: IListeningPort, afterReads: Callable[[], object] | None = None
) -> bool:
    """
    Make C{port}, if it is Twisted's stock TCP port (with or without TLS
    above it), a L{ReadAtOncePort}, whose connections then read, send and
    close at once; leave any other port alone.

    @param afterReads: what the port calls once its new connections have
        read, before it registers them (see L{ReadAtOncePort}).
    @return: whether C{port} now reads, sends and closes at once.
    """
    if type(port) is not tcp.Port or port.transport is not tcp.Server:
        return False
    port.__class__ = ReadAtOncePort
    if afterReads is not None:
        port.afterReads = afterReads  # type: ignore[attr-defined]
    dispatchDirectly(port.reactor, _DIRECT)
    return True
