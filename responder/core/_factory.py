"""
The factory: configuration and everything shared between connections.
"""

import time
from collections.abc import Callable

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IListeningPort, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from ..config import ResponderConfig
from ..escaping import escapeRequest
from ..journal import Journal
from ..logs import (
    ANSWERED,
    LoggerRequestLog,
    LogWriter,
    RequestLog,
    StreamRequestLog,
    stdoutWriter,
)
from ..rules import Rule
from ._address import describeAddress
from ._admission import REFUSED_BY_ACCESS, Admission
from ._connections import ConnectionRegistry
from ._fastpath import sendAtOnce
from ._host import Connection
from ._keepalive import KeepAliveProtocol
from ._protocol import ResponderProtocol
from ._reactor import installedReactor
from ._rulesinforce import RulesInForce
from ._stats import ResponderStats

#: How a refused connection shows in the journal.
REFUSED = "refused"


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


class ResponderFactory(RulesInForce, Factory[Protocol]):
    """
    Make L{ResponderProtocol}s and hold what they share: the configuration,
    the response, open connections, limits and counters.

    @ivar config: the L{ResponderConfig} in force.
    @ivar clock: the time source for deadlines; a C{task.Clock} in tests.
    @ivar log: the C{Logger} requests and events are logged to.
    @ivar responseBytes: the exact bytes each answer consists of.
    @ivar connections: the protocols of the connections open now.
    @ivar stats: L{ResponderStats} counters.
    @ivar rules: the L{Rules} in force, or C{None} (see L{RulesInForce}).
    @ivar journal: the last requests (L{Journal}), or C{None} when
        C{config.journal} is 0.
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

    def __init__(
        self,
        config: ResponderConfig | None = None,
        clock: IReactorTime | None = None,
        log: Logger | None = None,
        stats: ResponderStats | None = None,
    ) -> None:
        """
        @param stats: where to count, if not in fresh L{ResponderStats} (a
            worker counts in memory its parent reads).
        """
        if config is None:
            config = ResponderConfig()
        self.config = config
        self.clock = installedReactor() if clock is None else clock
        # One namespace for every request line, however it is written.
        self.log = Logger(namespace="responder") if log is None else log
        self.responseBytes = config.response + b"\0"
        self._protocolClass = KeepAliveProtocol if config.keepAlive else self.protocol
        self.stats = ResponderStats() if stats is None else stats
        self._registry = ConnectionRegistry(
            self.clock, config.timeout, self.stats, self.log
        )
        self.connections = self._registry.connections
        self.requestLog = None
        if not config.quiet:
            self.requestLog = (
                StreamRequestLog(
                    self._stdoutWriter(),
                    self.clock,
                    json=config.logFormat == "json",
                )
                if config.requestLog == "stdout"
                else LoggerRequestLog(self.log)
            )
        self.loadRulesFile()
        self.journal = (
            Journal(config.journal, config.maxRequest) if config.journal else None
        )
        #: What journal entries are stamped with: the wall clock, as the
        #: reactor's clock may be monotonic (see L{responder.core.useMonotonicClock}).
        self.wallClock: Callable[[], float] = time.time
        # Latency is only worth two clock readings when someone reads it.
        self.measuringLatency = config.metrics is not None
        self._admission = Admission(config, self.clock, self.log)
        if self._admission.admitsAll:
            # Every connection costs these calls: skip the admission
            # bookkeeping, which has nothing to do.
            self.connectionOpened = self._registry.add  # type: ignore[method-assign]
            self.connectionClosed = self._registry.remove  # type: ignore[method-assign]

    @property
    def requestLog(self) -> RequestLog | None:
        return self._requestLog

    @requestLog.setter
    def requestLog(self, requestLog: RequestLog | None) -> None:
        self._requestLog = requestLog
        #: Do what an answer does to its transport once the request's line
        #: is written (see L{StreamRequestLog.after}).
        self.afterLog: Callable[..., None] = (
            _now if requestLog is None else requestLog.after
        )

    def _stdoutWriter(self) -> LogWriter:
        """
        The process's standard output, whose dropped lines this factory
        counts.
        """
        writer = stdoutWriter()
        writer.onDropped = self._dropped
        return writer

    def listeningOn(self, port: IListeningPort, descriptors: float) -> None:
        """
        Stop C{port} accepting while C{--max-connections} connections are
        open, or as many as the process has C{descriptors} left for; start
        it again once one has closed; and, unless C{stockTransport}, give
        its TCP connections the transport that sends at once
        (L{sendAtOnce}).  The service and each worker call this for each
        endpoint they listen on; an application that listens itself may too.
        """
        if not self.config.stockTransport:
            sendAtOnce(port, self._flushRequestLog)
        limit = self.config.maxConnections
        capacity = descriptors if limit is None else min(limit, descriptors)
        self._registry.listeningOn(port, capacity)

    def _dropped(self, lines: int) -> None:
        self.stats.logDropped += lines

    def buildProtocol(self, addr: IAddress | None) -> Protocol | None:
        if not self._admission.admitsAll:
            refused = self._refusal(addr)
            if refused is not None:
                return refused
        protocol = self._protocolClass()
        protocol.factory = self
        return protocol

    def _refusal(self, addr: IAddress | None) -> Protocol | None:
        """
        The protocol that refuses a connection from C{addr}, if a limit or
        an access rule says no: counted, and journaled.
        """
        assert addr is not None, "a listening port always passes the peer"
        refusal = self._admission.refusal(addr, len(self.connections))
        if refusal is None:
            return None
        if self.journal is not None:
            self.journal.record(self.wallClock(), describeAddress(addr), b"", REFUSED)
        if refusal == REFUSED_BY_ACCESS:
            self.stats.refusedByAccess += 1
            return _Refused(None)
        self.stats.refusedByLimit += 1
        busy = self.config.busyResponse
        return _Refused(None if busy is None else busy + b"\0")

    def proxyRefused(self, reason: str, addr: IAddress) -> None:
        """
        A connection from C{addr} to a C{haproxy:} endpoint was refused for
        C{reason} (see L{responder.core.ProxiedProtocol}): count it, and
        log it with the other refusals.
        """
        self.stats.refusedByProxy += 1
        self._admission.refused(reason, addr)

    def connectionOpened(self, connection: Connection) -> None:
        """
        Track a new connection and give it its deadline; with a per-address
        limit, count it against its host.  (With no limit at all, the
        registry's own method stands in for this one: see C{__init__}.)
        """
        self._registry.add(connection)
        connection.peerHost = self._admission.opened(connection.transport.getPeer())

    def connectionClosed(self, connection: Connection) -> None:
        """
        Forget a connection that has gone.
        """
        if connection.peerHost is not None:
            self._admission.closed(connection.peerHost)
        self._registry.remove(connection)

    def stopFactory(self) -> None:
        """
        No port is listening any more, so nothing more can be refused:
        write the last summary of refusals.
        """
        self._admission.stop()

    def drain(self, timeout: float) -> Deferred[None]:
        """
        Wait until every open connection has finished, or until C{timeout}
        seconds have passed, then abort what is left.  Request lines still
        waiting to be written go out once no connection is left.

        @return: a C{Deferred} that fires once no connection is open.
        """
        return self._registry.drain(timeout, self._flushRequestLog)

    def _flushRequestLog(self) -> None:
        if self._requestLog is not None:
            self._requestLog.flush()

    def requestReceived(
        self,
        connection: Connection,
        request: bytes,
        outcome: str = ANSWERED,
        rule: Rule | None = None,
    ) -> None:
        """
        Count, log and journal a request that is about to be answered, or
        to meet the fault a rule chose (C{outcome}); C{rule} is the rule
        that matched, if one did.
        """
        self.stats.requests += 1
        journal = self.journal
        requestLog = self._requestLog
        if requestLog is None and journal is None:
            return
        peer = connection.peerName
        if peer is None:
            # Once per connection: keep-alive connections ask often, and
            # behind haproxy: the peer is known by the first request.
            peer = connection.peerName = describeAddress(connection.transport.getPeer())
        if requestLog is not None:
            requestLog(peer, escapeRequest(request), outcome)
        if journal is not None:
            if rule is None:
                journal.record(self.wallClock(), peer, request, outcome)
            else:
                journal.record(
                    self.wallClock(), peer, request, outcome, rule.index, rule.name
                )


def _now(action: Callable[..., object], *args: object) -> None:
    """
    With no request log, answers need not wait.
    """
    action(*args)
