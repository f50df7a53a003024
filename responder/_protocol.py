"""
One connection's worth of responder: read a request, answer, close.
"""

from typing import TYPE_CHECKING, cast

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IConsumer,
    IHalfCloseableProtocol,
    IPushProducer,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

if TYPE_CHECKING:
    from ._factory import ResponderFactory


@implementer(IHalfCloseableProtocol)
class ResponderProtocol(Protocol):
    """
    Answer the first chunk of data a client sends, as the seed's C server
    does with its single C{recv}: the request is that chunk up to its first
    NUL byte, cut to the factory's C{maxRequest}; the answer is the factory's
    response plus a NUL; then the connection is closed once the answer has
    been written out.  Anything the client sends later is ignored.

    A request that TCP splits across several segments is therefore answered
    on its first part, exactly like the seed; clients that need whole
    requests use keep-alive mode, where a delimiter ends each request.

    A client that half-closes without sending gets the answer to an empty
    request, as the seed's C{recv} returns 0 and it answers anyway.

    The connection's deadline (see L{ResponderFactory.sweep}) is the only
    timer: the factory checks all deadlines together, so a connection costs
    no timer of its own.

    @ivar deadline: when this connection is next due to be closed (or
        aborted, once closing), in the factory clock's seconds.
    @ivar answered: whether the request has been answered.
    @ivar closing: whether the connection has been asked to close; past
        its deadline, a closing connection is aborted.
    @ivar peerHost: the IP address this connection counts against in the
        per-address limit, taken when it opened (behind C{haproxy:} the peer
        changes once the PROXY header has been read).
    """

    factory: "ResponderFactory"
    transport: ITCPTransport
    deadline: float = 0.0
    answered: bool = False
    closing: bool = False
    peerHost: str | None = None

    def connectionMade(self) -> None:
        self.factory.connectionOpened(self)

    def dataReceived(self, data: bytes) -> None:
        self.factory.stats.bytesIn += len(data)
        if self.answered:
            return
        request = data[: self.factory.config.maxRequest]
        end = request.find(b"\0")
        if end >= 0:
            request = request[:end]
        self.answer(request)

    def answer(self, request: bytes) -> None:
        """
        Log C{request}, write the response and close the connection once it
        has been written.
        """
        self.respond(request)
        self.close()

    def respond(self, request: bytes) -> None:
        """
        Log C{request} and write the response.
        """
        self.answered = True
        factory = self.factory
        factory.requestReceived(self, request)
        response = factory.responseBytes
        self.transport.write(response)
        factory.stats.bytesOut += len(response)

    def close(self) -> None:
        """
        Close once everything written so far has been sent.
        """
        self.closing = True
        self.transport.loseConnection()

    def readConnectionLost(self) -> None:
        if not self.answered:
            self.answer(b"")

    def writeConnectionLost(self) -> None:
        """
        The client cannot be written to any more; nothing is left to do but
        close.
        """
        self.close()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if not (self.closing or reason.check(ConnectionDone)):
            self.factory.stats.reset += 1
        self.factory.connectionClosed(self)


@implementer(IPushProducer)
class KeepAliveProtocol(ResponderProtocol):
    """
    Keep the connection open and answer every request on it: each request
    ends with the factory's delimiter (NUL by default), and each gets one
    response, in order, however the requests are split or pipelined.

    Memory stays bounded: of a request longer than C{maxRequest}, only the
    first C{maxRequest} bytes are kept (and answered, once the delimiter
    comes); and a client that pipelines requests without reading the
    responses is stopped from sending more (the transport stops reading)
    until it has read them.

    The idle timeout starts again after each response.  End of input ends
    a pending partial request, which is answered before the close.
    """

    def connectionMade(self) -> None:
        super().connectionMade()
        self._pending = bytearray()
        cast(IConsumer, self.transport).registerProducer(self, True)

    def dataReceived(self, data: bytes) -> None:
        self.factory.stats.bytesIn += len(data)
        config = self.factory.config
        delimiter, limit = config.delimiter, config.maxRequest
        start = 0
        while not self.closing:
            end = data.find(delimiter, start)
            if end < 0:
                self._keep(data[start:] if start else data, limit)
                return
            if self._pending:
                self._keep(data[start:end], limit)
                request = bytes(self._pending)
                self._pending.clear()
            else:
                request = data[start : min(end, start + limit)]
            self.respond(request)
            start = end + 1

    def _keep(self, part: bytes, limit: int) -> None:
        room = limit - len(self._pending)
        if room > 0:
            self._pending += part[:room]

    def respond(self, request: bytes) -> None:
        if request.endswith(b"\r") and self.factory.config.delimiter == b"\n":
            request = request[:-1]
        super().respond(request)
        self.deadline = self.factory.clock.seconds() + self.factory.config.timeout

    def readConnectionLost(self) -> None:
        if self._pending:
            request = bytes(self._pending)
            self._pending.clear()
            self.respond(request)
        self.close()

    def pauseProducing(self) -> None:
        """
        The client is not reading its responses: stop reading its requests.
        """
        cast(IPushProducer, self.transport).pauseProducing()

    def resumeProducing(self) -> None:
        cast(IPushProducer, self.transport).resumeProducing()

    def stopProducing(self) -> None:
        """
        The connection is going; nothing to stop.
        """
