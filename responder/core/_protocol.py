"""
One connection's worth of responder: read a request, answer, close.
"""

from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IDelayedCall,
    IHalfCloseableProtocol,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from ..framing import firstRequest
from ..logs import ANSWERED
from ..rules import Rule
from ._host import ConnectionHost

#: How each rule action shows in the request log.
_OUTCOMES = {
    "answer": ANSWERED,
    "close": "closed",
    "reset": "reset",
    "never": "unanswered",
}


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

    A client that half-closes without sending gets the default response,
    as the seed's C{recv} returns 0 and it answers anyway; but it has sent
    no request: it is a connect-only probe (L{probed}), counted and not
    logged.

    The connection's deadline (see
    L{responder.core.ConnectionRegistry.sweep}) is the only timer: the
    factory checks all deadlines together, so a connection costs no timer
    of its own.

    @ivar deadline: when this connection is next due to be closed (or
        aborted, once closing), in the factory clock's seconds.
    @ivar answered: whether the request has been answered.
    @ivar closing: whether the connection has been asked to close; past
        its deadline, a closing connection is aborted.  Once it is set,
        the transport's C{loseConnection} follows the writes queued before
        it, with nothing in between: the fast path's transport relies on
        that to send the last answer and the FIN in one segment
        (L{responder.core.SendAtOnceServer.write}).
    @ivar peerName: the peer as request lines show it, once known.
    @ivar holding: whether a rule's C{never} fault holds the connection
        open until its deadline; it counts as unanswered, not timed out.
    @ivar heard: whether the client has sent any data; a connection that
        ends without is a probe, not a request.
    @ivar peerHost: the IP address this connection counts against in the
        per-address limit, taken when it opened (behind C{haproxy:} the peer
        changes once the PROXY header has been read).
    """

    factory: ConnectionHost
    transport: ITCPTransport
    deadline: float = 0.0
    answered: bool = False
    heard: bool = False
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
        self.heard = True
        if self.answered:
            return
        config = self.factory.config
        self.answer(firstRequest(data, config.delimiter, config.maxRequest))

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
            factory.requestReceived(self, request, _OUTCOMES[rule.action], rule)
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
            self.factory.afterLog(self.transport.abortConnection)
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
        Write C{data} to the client, counting it, once the request's line
        is in the log.
        """
        self.factory.afterLog(self.transport.write, data)
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
        Close once everything written so far has been sent (and so, after
        the request's line is in the log).
        """
        self.closing = True
        self.factory.afterLog(self.transport.loseConnection)

    def readConnectionLost(self) -> None:
        if not self.answered:
            self.probed()
            self.answered = True
            self.write(self.factory.responseBytes)
            self.close()

    def probed(self) -> None:
        """
        The client ended the connection (FIN or RST) without sending a byte:
        a connect-only health check (C{nc -z}, a load balancer's TCP check,
        a Kubernetes C{tcpSocket} probe).  Count it instead of logging an
        empty request line for each one; a client that sent anything at all
        is a request, logged as ever.
        """
        self.factory.stats.probes += 1

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
            if self.heard:
                self.factory.stats.reset += 1
            else:
                self.probed()
        self.factory.connectionClosed(self)
