"""
Counters that a server keeps about itself, cheap enough to update on every
connection: plain integers, read by whoever wants them (tests, the metrics
endpoint, an embedding application).
"""

from bisect import bisect_left
from dataclasses import dataclass, field

#: Upper bounds, in seconds, of the request-to-response latency buckets:
#: from an answer in the same reactor turn up to the longest fault delays.
LATENCY_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)


@dataclass
class LatencyHistogram:
    """
    How long requests waited for their response, in fixed buckets.

    @ivar counts: observations per bucket of L{LATENCY_BUCKETS}, plus one
        for anything longer; not cumulative.
    @ivar total: the sum of all observations, in seconds.
    """

    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds


@dataclass
class ResponderStats:
    """
    Counters since the factory was made.

    @ivar connections: connections served (not refused).
    @ivar requests: requests received and dealt with: answered, or met
        with a rule's fault.
    @ivar answered: requests whose response has been written in full.
    @ivar closedByRule: requests a rule answered by closing.
    @ivar resetByRule: requests a rule answered with a TCP reset.
    @ivar unanswered: requests a rule chose never to answer.
    @ivar timedOut: connections closed because their deadline passed, but
        for those a rule held open on purpose (counted as C{unanswered}).
    @ivar aborted: connections aborted because they would not close.
    @ivar reset: connections the client broke off (reset, or lost
        uncleanly) after sending some data but before its answer.
    @ivar probes: connect-only probes: connections that ended (by FIN or
        RST) without sending a byte, as TCP health checks do.  They are not
        requests and write no request line, so a check every few seconds
        does not flood the log.
    @ivar refusedByAccess: connections refused by C{allow}/C{deny}.
    @ivar refusedByLimit: connections refused by C{maxConnections} or
        C{maxPerIP}.
    @ivar refusedByProxy: connections to a C{haproxy:} endpoint refused for
        a missing or malformed PROXY header, or because the peer is not a
        trusted proxy.
    @ivar bytesIn: request bytes received.
    @ivar bytesOut: response bytes written.
    @ivar logDropped: request lines dropped because the log could not take
        them (see L{responder.logs.LogWriter}).
    @ivar latency: time from a complete request to its response written.
    """

    connections: int = 0
    requests: int = 0
    answered: int = 0
    closedByRule: int = 0
    resetByRule: int = 0
    unanswered: int = 0
    timedOut: int = 0
    aborted: int = 0
    reset: int = 0
    probes: int = 0
    refusedByAccess: int = 0
    refusedByLimit: int = 0
    refusedByProxy: int = 0
    bytesIn: int = 0
    bytesOut: int = 0
    logDropped: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
