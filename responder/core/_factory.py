"""
The factory: configuration and everything shared between connections.
"""

import sys

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from ._address import describeAddress, hostOf
from ._admission import (
    REFUSED_BY_ACCESS,
    REFUSED_BY_LIMIT,
    REFUSED_BY_PEER_LIMIT,
    AccessRules,
    PeerCounts,
    RefusalReporter,
)
from ._config import ResponderConfig
from ._escape import escapeRequest
from ._protocol import KeepAliveProtocol, ResponderProtocol
from ._reactor import installedReactor
from ._requestlog import ANSWERED, LoggerRequestLog, RequestLog, StreamRequestLog
from ._rules import Rules, RulesError, loadRules
from ._stats import ResponderStats


class _Refused(Protocol):
    """
    A connection refused by a limit or an access rule: send the busy reply,
    if there is one, and close.  A protocol is needed even to say no,
    because wrapping factories (C{haproxy:}) cannot cope with C{None} from
    C{buildProtocol}.
    """

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply

    def connectionMade(self) -> None:
        if self.reply is not None:
            self.transport.write(self.reply)  # type: ignore[union-attr]
        self.transport.loseConnection()  # type: ignore[union-attr]


class ResponderFactory(Factory[Protocol]):
    """
    Make L{ResponderProtocol}s and hold what they share: the configuration,
    the response, open connections, limits and counters.

    @ivar config: the L{ResponderConfig} in force.
    @ivar clock: the time source for deadlines; a L{task.Clock} in tests.
    @ivar log: the L{Logger} requests and events are logged to.
    @ivar responseBytes: the exact bytes each answer consists of.
    @ivar connections: the protocols of the connections open now.
    @ivar stats: L{ResponderStats} counters.
    @ivar rules: the L{Rules} in force, or C{None}.
    @ivar measuringLatency: whether request-to-response latency is kept in
        C{stats} (only when metrics are served).
    @ivar requestLog: where requests are recorded (see L{RequestLog}), or
        C{None} when quiet; replace it to send request lines elsewhere.
    """

    protocol = ResponderProtocol
    #: The service logs each address it listens on; Twisted's "Starting
    #: factory" lines would only repeat that.  (The port's own "starting on"
    #: line is Twisted's, and stays.)
    noisy = False

    #: Seconds a connection that will not close (a client that does not read
    #: what we wrote) gets after its polite close, before it is aborted.
    abortDelay = 5.0

    def __init__(
        self,
        config: ResponderConfig | None = None,
        clock: IReactorTime | None = None,
        log: Logger | None = None,
    ) -> None:
        if config is None:
            config = ResponderConfig()
        self.config = config
        self.clock = installedReactor() if clock is None else clock
        # One namespace for every request line, however it is written.
        self.log = Logger(namespace="responder") if log is None else log
        self.responseBytes = config.response + b"\0"
        self._protocolClass = KeepAliveProtocol if config.keepAlive else self.protocol
        self.connections: set[ResponderProtocol] = set()
        self.stats = ResponderStats()
        self.requestLog: RequestLog | None = None
        if not config.quiet:
            self.requestLog = (
                StreamRequestLog(
                    sys.__stdout__,  # type: ignore[arg-type]
                    self.clock,
                    json=config.logFormat == "json",
                )
                if config.requestLog == "stdout"
                else LoggerRequestLog(self.log)
            )
        self.rules: Rules | None = None
        if config.rules is not None:
            self.rules = loadRules(config.rules)
        # Latency is only worth two clock readings when someone reads it.
        self.measuringLatency = config.metrics is not None
        self._access = AccessRules(config.allow, config.deny)
        # Admission checks cost nothing when no limit or rule is set.
        self._admitAll = not (
            config.maxConnections or config.maxPerIP or config.allow or config.deny
        )
        self._peers = PeerCounts()
        self._refusals = RefusalReporter(self.clock, self.log)
        self._sweeper = LoopingCall(self.sweep)
        self._sweeper.clock = self.clock
        # At least 10 ms: a tiny timeout must not make the sweep run at
        # every reactor iteration.
        self._sweepInterval = max(0.01, min(1.0, config.timeout / 4))
        self._drained: Deferred[None] | None = None
        self._drainDeadline: IDelayedCall | None = None

    def buildProtocol(self, addr: IAddress | None) -> Protocol | None:
        if self._admitAll:
            return self._serve()
        assert addr is not None, "a listening port always passes the peer"
        refusal = self._refusal(addr)
        if refusal is not None:
            self._refusals.refused(refusal, describeAddress(addr))
            if refusal == REFUSED_BY_ACCESS:
                self.stats.refusedByAccess += 1
                return _Refused(None)
            self.stats.refusedByLimit += 1
            busy = self.config.busyResponse
            return _Refused(None if busy is None else busy + b"\0")
        return self._serve()

    def _serve(self) -> ResponderProtocol:
        protocol = self._protocolClass()
        protocol.factory = self
        return protocol

    def _refusal(self, addr: IAddress) -> str | None:
        """
        Why a connection from C{addr} must be refused, or C{None} to serve it.
        """
        config = self.config
        limit = config.maxConnections
        if limit is not None and len(self.connections) >= limit:
            return REFUSED_BY_LIMIT
        host = hostOf(addr)
        if host is None:
            return None
        if (config.allow or config.deny) and not self._access.permits(host):
            return REFUSED_BY_ACCESS
        perPeer = config.maxPerIP
        if perPeer is not None and self._peers[host] >= perPeer:
            return REFUSED_BY_PEER_LIMIT
        return None

    def connectionOpened(self, protocol: ResponderProtocol) -> None:
        """
        Track a new connection and give it its deadline.
        """
        protocol.deadline = self.clock.seconds() + self.config.timeout
        self.connections.add(protocol)
        self.stats.connections += 1
        if self.config.maxPerIP is not None:
            protocol.peerHost = hostOf(protocol.transport.getPeer())
            if protocol.peerHost is not None:
                self._peers.add(protocol.peerHost)
        if not self._sweeper.running:
            self._sweeper.start(self._sweepInterval, now=False)

    def connectionClosed(self, protocol: ResponderProtocol) -> None:
        """
        Forget a connection that has gone.
        """
        self.connections.discard(protocol)
        if protocol.peerHost is not None:
            self._peers.remove(protocol.peerHost)
        if self._drained is not None and not self.connections:
            self._finishDrain()

    def stopFactory(self) -> None:
        """
        No port is listening any more, so nothing more can be refused:
        write the last summary of refusals.
        """
        self._refusals.stop()

    def drain(self, timeout: float) -> Deferred[None]:
        """
        Wait until every open connection has finished, or until C{timeout}
        seconds have passed, then abort what is left.  Request lines still
        waiting to be written go out once no connection is left.

        @return: a L{Deferred} that fires once no connection is open.
        """
        if not self.connections:
            self._flushRequestLog()
            return succeed(None)
        self.log.info(
            "waiting up to {timeout:g} s for {count} open connections to finish",
            timeout=timeout,
            count=len(self.connections),
        )
        self._drained = Deferred()
        self._drainDeadline = self.clock.callLater(timeout, self._abortAll)
        for protocol in list(self.connections):
            protocol.drain()
        return self._drained

    def _finishDrain(self) -> None:
        drained, self._drained = self._drained, None
        if self._drainDeadline is not None and self._drainDeadline.active():
            self._drainDeadline.cancel()
        self._drainDeadline = None
        self._flushRequestLog()
        drained.callback(None)  # type: ignore[union-attr]

    def _flushRequestLog(self) -> None:
        if self.requestLog is not None:
            self.requestLog.flush()

    def _abortAll(self) -> None:
        self.log.warn(
            "aborting {count} connections that did not finish in time",
            count=len(self.connections),
        )
        for protocol in list(self.connections):
            self.stats.aborted += 1
            protocol.transport.abortConnection()

    def requestReceived(
        self, protocol: ResponderProtocol, request: bytes, outcome: str = ANSWERED
    ) -> None:
        """
        Count and log a request that is about to be answered, or to meet
        the fault a rule chose (C{outcome}).
        """
        self.stats.requests += 1
        if self.requestLog is not None:
            peer = protocol.peerName
            if peer is None:
                # Once per connection: keep-alive connections ask often, and
                # behind haproxy: the peer is known by the first request.
                peer = protocol.peerName = describeAddress(protocol.transport.getPeer())
            self.requestLog(peer, escapeRequest(request), outcome)

    def reloadRules(self) -> None:
        """
        Read the rules file again (on SIGHUP).  A bad file keeps the rules
        in force, and the log says why.
        """
        if self.config.rules is None:
            return
        try:
            rules = loadRules(self.config.rules)
        except RulesError as e:
            self.log.error("rules not reloaded, keeping the old ones: {error}", error=e)
            return
        self.rules = rules
        self.log.info(
            "reloaded {count} rules from {source}",
            count=len(rules.rules),
            source=rules.source,
        )

    def sweep(self) -> None:
        """
        Close connections whose deadline has passed, and abort those that
        were already closing and still have not gone: a client that never
        reads can keep a polite close waiting for ever.
        """
        if not self.connections:
            # Stopping here rather than when the last connection closes
            # keeps a busy server from restarting the timer all the time.
            self._sweeper.stop()
            return
        now = self.clock.seconds()
        for protocol in [p for p in self.connections if p.deadline <= now]:
            if protocol.closing:
                self.stats.aborted += 1
                protocol.transport.abortConnection()
            else:
                if not protocol.holding:
                    self.stats.timedOut += 1
                protocol.deadline = now + self.abortDelay
                protocol.close()
