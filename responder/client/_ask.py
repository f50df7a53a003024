"""
Ask a responder (or any server that answers and closes, or ends its answer
with a terminator) one question.
"""

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import (
    IHalfCloseableProtocol,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer


@implementer(IHalfCloseableProtocol)
class _Asker(Protocol):
    """
    Send a request, optionally shut down the write side, and collect what
    comes back until the server closes, or until the terminator if there
    is one (a keep-alive server does not close).

    @ivar ended: whether the server closed its side (end of input).
    """

    def __init__(
        self, request: bytes, halfClose: bool, terminator: bytes | None
    ) -> None:
        self.request = request
        self.halfClose = halfClose
        self.terminator = terminator
        self.received: list[bytes] = []
        #: What came so far, when looking for a terminator.
        self._buffer = bytearray()
        self.ended = False
        self.answered: Deferred[bytes] = Deferred(self._cancel)

    def _cancel(self, answered: Deferred[bytes]) -> None:
        if self.transport is not None:
            self.transport.abortConnection()  # type: ignore[attr-defined]

    def connectionMade(self) -> None:
        assert self.transport is not None
        if self.request:
            self.transport.write(self.request)
        if self.halfClose:
            self.transport.loseWriteConnection()  # type: ignore[attr-defined]

    def dataReceived(self, data: bytes) -> None:
        if self.answered.called:
            return
        terminator = self.terminator
        if terminator is None:
            self.received.append(data)
            return
        buffer = self._buffer
        # Search only the new bytes and the few before them that a
        # terminator could straddle.
        start = max(0, len(buffer) - len(terminator) + 1)
        buffer += data
        end = buffer.find(terminator, start)
        if end >= 0:
            assert self.transport is not None
            self.answered.callback(bytes(buffer[: end + len(terminator)]))
            self.transport.loseConnection()

    def readConnectionLost(self) -> None:
        self.ended = True
        assert self.transport is not None
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        """
        Our side was shut down on purpose; keep reading.
        """

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.answered.called:
            return  # cancelled
        # Some transports (unix sockets) report the close that follows an
        # end of input as unclean; the server had finished all the same.
        if self.ended or reason.check(ConnectionDone):
            self.answered.callback(b"".join(self.received) + self._buffer)
        elif reason.check(ConnectionLost):
            self.answered.errback(reason)
        else:
            # A TLS handshake that failed, say: still a lost connection.
            self.answered.errback(ConnectionLost(reason.getErrorMessage()))


async def ask(
    reactor: IReactorTime,
    endpoint: str | IStreamClientEndpoint,
    request: bytes,
    halfClose: bool = False,
    timeout: float = 10.0,
    terminator: bytes | None = None,
) -> bytes:
    """
    Connect, send C{request}, and return everything the server sends before
    it closes, or up to and including C{terminator}.

    @param endpoint: where to connect: an endpoint, or a client endpoint
        description such as C{tcp:127.0.0.1:1984}, C{unix:/run/r.sock} or
        C{tls:example.com:1984}.
    @param halfClose: shut down the sending side after the request, for
        servers that read until end of input.
    @param timeout: seconds for the whole exchange.
    @param terminator: what ends the answer, such as C{b"\\0"}, responder's
        own: the connection is closed as soon as it arrives, as a server
        in keep-alive mode never closes it.  C{None}: read until the
        server closes.
    @raise twisted.internet.defer.TimeoutError: if it takes longer; the
        connection is then aborted.
    @raise twisted.internet.error.ConnectError: if the connection cannot
        be made.
    @raise twisted.internet.error.ConnectionLost: if it ends before the
        server has closed it cleanly: a reset, or a TLS handshake that
        failed.
    """
    client: IStreamClientEndpoint = (
        clientFromString(reactor, endpoint) if isinstance(endpoint, str) else endpoint
    )
    asker = _Asker(request, halfClose, terminator)
    connecting = client.connect(Factory.forProtocol(lambda: asker))
    exchange = connecting.addCallback(lambda _: asker.answered)
    return await exchange.addTimeout(timeout, reactor)
