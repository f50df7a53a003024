"""
The port of the fast path: it accepts in a loop of its own, and reads from
the connections it accepts before it registers them.
"""

import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import tcp
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from ._dispatch import dispatchDirectly
from ._transport import SendAtOnceServer

_log = Logger()

#: What C{getnameinfo} is asked for an IPv6 peer, as Twisted asks it.
_NUMERIC = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
#: Module attributes the accept loop reads for every connection.
_Socket = socket.SocketType
_INET = socket.AF_INET
_STREAM = socket.SOCK_STREAM


class ReadAtOncePort(tcp.Port):
    """
    A C{tcp.Port} whose connections are L{SendAtOnceServer}s that read as
    soon as the port has accepted them.

    @ivar afterReads: called once the fresh connections have read, before
        they are registered.
    """

    transport = SendAtOnceServer
    afterReads: Callable[[], object] = staticmethod(lambda: None)

    def doRead(self) -> None:
        """
        Accept what is waiting, then read from each new connection, let
        C{afterReads} answer, and register only what is still open.
        """
        fresh: list[SendAtOnceServer] = []
        try:
            self._acceptAll(fresh)
        except BaseException:
            # As Twisted's doRead does: an error escaping to the reactor
            # would close the listening port.
            _log.failure("Unhandled error accepting a connection on {port}", port=self)
        # Each step on its own, and errors logged, for the same reason; and
        # whatever went wrong, no connection is left unregistered.
        _each(fresh, SendAtOnceServer.readAtOnce, "reading from")
        try:
            self.afterReads()
        except BaseException:
            _log.failure("Unhandled error after reading from new connections")
        _each(fresh, SendAtOnceServer.release, "registering")

    def _acceptAll(self, fresh: list[SendAtOnceServer]) -> None:
        """
        Twisted's C{tcp.Port.doRead}, without what it does for every
        connection and a one-shot connection does not need: the
        C{socket} module's C{accept} wrapper (which turns the family and
        type into enums, and wraps each connection in C{socket.socket}, a
        Python subclass whose C{close} is two Python calls deep), a
        generator, and a logger made for every batch.  Each connection
        gets the C type itself, C{socket.SocketType}, which has every
        method a transport uses, and joins C{fresh}, held
        (L{SendAtOnceServer.release}).

        An accept that fails for any reason but "nothing more to accept"
        (C{EMFILE}, C{ENOBUFS}, C{ECONNABORTED}, C{EPERM}) hands the rest
        of the batch to Twisted's own C{doRead}, which knows what each
        means: it releases its reserved descriptor on C{EMFILE}, logs what
        is worth logging, and registers the connections it accepts at once.
        """
        # The socket module's own accept, without its wrapping.
        accept: Callable[[], tuple[int, Any]] = self.socket._accept  # type: ignore[union-attr]
        factory = self.factory
        assert factory is not None, "a listening port has its factory"
        buildProtocol = factory.buildProtocol
        reactor = self.reactor
        addressType = self._addressType
        keep = fresh.append
        batch = self.numberAccepts
        accepted = 0
        while accepted < batch:
            try:
                fd, address = accept()
            except BlockingIOError:
                break
            except OSError:
                tcp.Port.doRead(self)
                return
            accepted += 1
            if len(address) == 2:
                family = _INET
            else:
                family = socket.AF_INET6
                # As Twisted does: the scope ID, if the address has one.
                host, _ = socket.getnameinfo(address, _NUMERIC)
                address = (host, *address[1:])
            skt = _Socket(family, _STREAM, 0, fd)
            peer = addressType("TCP", *address)
            protocol = buildProtocol(peer)
            if protocol is None:
                skt.close()
                continue
            sessionno = self.sessionno
            self.sessionno = sessionno + 1
            transport = SendAtOnceServer(
                skt, protocol, address, self, sessionno, reactor, peer
            )
            keep(transport)
            protocol.makeConnection(transport)
        # Twisted's scaling of its batches: grow while they fill up,
        # otherwise fit the last one.
        if accepted == batch:
            self.numberAccepts = batch + 20
        else:
            self.numberAccepts = max(1, accepted)


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
