"""
One connection's worth of responder: read a request, answer, close.
"""

from typing import TYPE_CHECKING, cast

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IConsumer,
    IDelayedCall,
    IHalfCloseableProtocol,
    IPushProducer,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from ._requestlog import ANSWERED
from ._rules import Rule

if TYPE_CHECKING:
    from ._factory import ResponderFactory


#: How each rule action shows in the request log.
_OUTCOMES = {
    "answer": ANSWERED,
    "close": "closed",
    "reset": "reset",
    "never": "unanswered",
}


def _line(request: bytes, delimiter: bytes) -> bytes:
    """
    A request that ends at a newline is a line: it ends before the CR of a
    CRLF too, as telnet, netcat -C and most text protocols send.
    """
    if delimiter == b"\n" and request.endswith(b"\r"):
        return request[:-1]
    return request


@implementer(IHalfCloseableProtocol)
class ResponderProtocol(Protocol):
    """
    Answer the first chunk of data a client sends, as the seed's C server
    does with its single C{recv}: the request is that chunk up to its first
    NUL byte (or the configured delimiter), cut to the factory's
    C{maxRequest}; the answer is the factory's
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
    @ivar peerName: the peer as request lines show it, once known.
    @ivar holding: whether a rule's C{never} fault holds the connection
        open until its deadline; it counts as unanswered, not timed out.
    @ivar peerHost: the IP address this connection counts against in the
        per-address limit, taken when it opened (behind C{haproxy:} the peer
        changes once the PROXY header has been read).
    """

    factory: "ResponderFactory"
    transport: ITCPTransport
    deadline: float = 0.0
    answered: bool = False
    closing: bool = False
    holding: bool = False
    peerHost: str | None = None
    peerName: str | None = None
    #: A rule's delayed or slow answer in progress.
    _ruleTimer: IDelayedCall | None = None
    _busy: bool = False

    def connectionMade(self) -> None:
        factory = self.factory
        factory.connectionOpened(self)
        rules = factory.rules
        if rules is not None and rules.greeting is not None:
            self.write(rules.greeting)

    def dataReceived(self, data: bytes) -> None:
        self.factory.stats.bytesIn += len(data)
        if self.answered:
            return
        config = self.factory.config
        request = data[: config.maxRequest]
        end = request.find(config.delimiter)
        if end >= 0:
            request = _line(request[:end], config.delimiter)
        self.answer(request)

    def answer(self, request: bytes) -> None:
        """
        Log C{request} and answer it: with the default response, or as the
        first rule that matches it says.  L{requestDone} follows once the
        answer has been written.
        """
        self.answered = True
        factory = self.factory
        rule = None if factory.rules is None else factory.rules.match(request)
        if rule is None:
            factory.requestReceived(self, request)
            self.write(factory.responseBytes)
            self._answered(0.0)
        else:
            factory.requestReceived(self, request, _OUTCOMES[rule.action])
            self._busy = True
            started = factory.clock.seconds()
            if rule.delay:
                self._ruleTimer = factory.clock.callLater(
                    rule.delay, self._follow, rule, started
                )
            else:
                self._follow(rule, started)

    def _follow(self, rule: Rule, started: float) -> None:
        self._ruleTimer = None
        if rule.action == "answer":
            assert rule.response is not None
            self._writeSlowly(rule.response, rule, started)
        elif rule.action == "close":
            self.factory.stats.closedByRule += 1
            self.close()
        elif rule.action == "reset":
            self.factory.stats.resetByRule += 1
            self.closing = True
            self.transport.abortConnection()
        else:
            # "never": stay busy; the connection's deadline ends it.
            self.factory.stats.unanswered += 1
            self.holding = True

    def _writeSlowly(self, data: bytes, rule: Rule, started: float) -> None:
        """
        Write C{data}, C{rule.slowBytes} at a time if the rule says so.
        """
        self._ruleTimer = None
        step = rule.slowBytes or len(data)
        self.write(data[:step])
        if len(data) > step:
            self._ruleTimer = self.factory.clock.callLater(
                rule.slowInterval, self._writeSlowly, data[step:], rule, started
            )
            return
        self._busy = False
        self._answered(self.factory.clock.seconds() - started)

    def _answered(self, waited: float) -> None:
        """
        The response is written in full, C{waited} seconds after the
        request was complete: count it and go on.
        """
        factory = self.factory
        stats = factory.stats
        stats.answered += 1
        if factory.measuringLatency:
            stats.latency.observe(waited)
        self.requestDone()

    def write(self, data: bytes) -> None:
        """
        Write C{data} to the client, counting it.
        """
        self.transport.write(data)
        self.factory.stats.bytesOut += len(data)

    def requestDone(self) -> None:
        """
        The request has been answered: close once the answer is sent.
        """
        self.close()

    def drain(self) -> None:
        """
        The server is stopping: a connection waiting for its request keeps
        waiting (the request may be on its way), until the drain timeout.
        """

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
        if self._ruleTimer is not None and self._ruleTimer.active():
            self._ruleTimer.cancel()
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
    until it has read them.  That pause also holds within one chunk of
    data: 64 KiB of NULs would otherwise be 65 536 responses, 1.4 MB,
    buffered at once.  While a rule delays an answer, later requests wait,
    unread, so that answers keep their order.

    The idle timeout starts again after each response.  End of input ends
    a pending partial request, which is answered before the close.
    """

    def connectionMade(self) -> None:
        self._pending = bytearray()
        self._waiting = b""
        self._ended = False
        self._processing = False
        self._draining = False
        #: The transport's write buffer is full: the client is not reading.
        self._paused = False
        super().connectionMade()
        cast(IConsumer, self.transport).registerProducer(self, True)

    def dataReceived(self, data: bytes) -> None:
        self.factory.stats.bytesIn += len(data)
        self._process(data)

    def _process(self, data: bytes) -> None:
        self._processing = True
        try:
            self._answerEach(data)
        finally:
            self._processing = False

    def _answerEach(self, data: bytes) -> None:
        config = self.factory.config
        delimiter, limit = config.delimiter, config.maxRequest
        start, size = 0, len(data)
        while start < size and not self.closing:
            if self._busy or self._paused:
                # Keep the rest for when the answer in progress is done, or
                # the client has read what it was sent.
                self._waiting += data[start:]
                cast(IPushProducer, self.transport).pauseProducing()
                return
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
            self.answer(_line(request, delimiter))
            start = end + 1

    def _keep(self, part: bytes, limit: int) -> None:
        room = limit - len(self._pending)
        if room > 0:
            self._pending += part[:room]

    def requestDone(self) -> None:
        """
        Restart the idle timeout, and go on with requests that waited; or
        close, if the server is stopping.
        """
        factory = self.factory
        self.deadline = factory.clock.seconds() + factory.config.timeout
        if self._draining:
            self._closeIfIdle()
        elif not self._processing:
            # An answer that a rule delayed is done: carry on.
            self._continue()

    def drain(self) -> None:
        """
        The server is stopping: close at once if no request is under way,
        otherwise as soon as the one in progress has been answered.  An
        idle keep-alive connection would otherwise hold the stop up for
        the whole drain timeout, and then be reset.
        """
        self._draining = True
        self._closeIfIdle()

    def _closeIfIdle(self) -> None:
        # Requests queued behind the one in progress are not answered: the
        # client sees the close after the last answer it got.
        if not (self._busy or self._pending or self.closing):
            self.close()

    def close(self) -> None:
        """
        Stop producing, then close once everything written has been sent:
        a transport does not close while a producer is registered (over
        TLS never, over TCP not while it has paused it).
        """
        if not self.closing:
            cast(IConsumer, self.transport).unregisterProducer()
        super().close()

    def _continue(self) -> None:
        """
        Answer the requests that waited for an answer in progress or for
        the client to read; once input has ended and everything is
        answered, close.
        """
        waiting, self._waiting = self._waiting, b""
        if not (self._paused or self._ended or self.closing):
            # Reading stopped while a rule held the answer; go on.
            cast(IPushProducer, self.transport).resumeProducing()
        if waiting:
            self._process(waiting)
        if self._ended and not (self._busy or self._waiting or self.closing):
            self._endInput()

    def readConnectionLost(self) -> None:
        self._ended = True
        if not (self._busy or self._processing):
            self._continue()

    def _endInput(self) -> None:
        """
        End of input: answer an unfinished request (whose L{requestDone}
        comes back here), or close.
        """
        if self._pending:
            request = bytes(self._pending)
            self._pending.clear()
            self.answer(request)
        else:
            self.close()

    def pauseProducing(self) -> None:
        """
        The client is not reading its responses: stop answering and reading
        its requests.
        """
        self._paused = True
        cast(IPushProducer, self.transport).pauseProducing()

    def resumeProducing(self) -> None:
        """
        The client has read its responses: answer the requests that waited
        and read more, unless an answer in progress holds them back.
        """
        self._paused = False
        if not self._busy:
            cast(IPushProducer, self.transport).resumeProducing()
            if not self._processing:
                self._continue()

    def stopProducing(self) -> None:
        """
        The connection is going; nothing to stop.
        """
