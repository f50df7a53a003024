"""
The factory: configuration and everything shared between connections.
"""

import sys

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from ..config import ResponderConfig
from ..escaping import escapeRequest
from ..journal import Journal
from ..logs import ANSWERED, LoggerRequestLog, RequestLog, StreamRequestLog
from ..rules import Rule, Rules, RulesError, loadRules
from ._address import describeAddress
from ._admission import REFUSED_BY_ACCESS, Admission
from ._connections import ConnectionRegistry
from ._host import Connection
from ._keepalive import KeepAliveProtocol
from ._protocol import ResponderProtocol
from ._reactor import installedReactor
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
    @ivar fileRules: the rules of the C{--rules} file as last loaded, or
        C{None}: what L{resetRules} goes back to.
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
    ) -> None:
        if config is None:
            config = ResponderConfig()
        self.config = config
        self.clock = installedReactor() if clock is None else clock
        # One namespace for every request line, however it is written.
        self.log = Logger(namespace="responder") if log is None else log
        self.responseBytes = config.response + b"\0"
        self._protocolClass = KeepAliveProtocol if config.keepAlive else self.protocol
        self.stats = ResponderStats()
        self._registry = ConnectionRegistry(
            self.clock, config.timeout, self.stats, self.log
        )
        self.connections = self._registry.connections
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
        self.fileRules = self.rules
        self.journal = (
            Journal(config.journal, config.maxRequest) if config.journal else None
        )
        # Latency is only worth two clock readings when someone reads it.
        self.measuringLatency = config.metrics is not None
        self._admission = Admission(config, self.clock, self.log)

    def buildProtocol(self, addr: IAddress | None) -> Protocol | None:
        admission = self._admission
        if admission.admitsAll:
            return self._serve()
        assert addr is not None, "a listening port always passes the peer"
        refusal = admission.refusal(addr, len(self.connections))
        if refusal is None:
            return self._serve()
        if self.journal is not None:
            self.journal.record(
                self.clock.seconds(), describeAddress(addr), b"", REFUSED
            )
        if refusal == REFUSED_BY_ACCESS:
            self.stats.refusedByAccess += 1
            return _Refused(None)
        self.stats.refusedByLimit += 1
        busy = self.config.busyResponse
        return _Refused(None if busy is None else busy + b"\0")

    def _serve(self) -> ResponderProtocol:
        protocol = self._protocolClass()
        protocol.factory = self
        return protocol

    def connectionOpened(self, connection: Connection) -> None:
        """
        Track a new connection and give it its deadline.
        """
        self._registry.add(connection)
        self.stats.connections += 1
        if not self._admission.admitsAll:
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

        @return: a L{Deferred} that fires once no connection is open.
        """
        return self._registry.drain(timeout, self._flushRequestLog)

    def _flushRequestLog(self) -> None:
        if self.requestLog is not None:
            self.requestLog.flush()

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
        if self.requestLog is None and journal is None:
            return
        peer = connection.peerName
        if peer is None:
            # Once per connection: keep-alive connections ask often, and
            # behind haproxy: the peer is known by the first request.
            peer = connection.peerName = describeAddress(connection.transport.getPeer())
        if self.requestLog is not None:
            self.requestLog(peer, escapeRequest(request), outcome)
        if journal is not None:
            if rule is None:
                journal.record(self.clock.seconds(), peer, request, outcome)
            else:
                journal.record(
                    self.clock.seconds(), peer, request, outcome, rule.index, rule.name
                )

    def setRules(self, rules: Rules | None) -> None:
        """
        Put C{rules} in force from the next request on (C{None}: answer
        every request with the default response).
        """
        self.rules = rules

    def resetRules(self) -> None:
        """
        Go back to the rules of the C{--rules} file as last loaded, or to
        none: read nothing, so a reset cannot fail.
        """
        self.rules = self.fileRules

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
        self.rules = self.fileRules = rules
        self.log.info(
            "reloaded {count} rules from {source}",
            count=len(rules.rules),
            source=rules.source,
        )
