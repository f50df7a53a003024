"""
The Prometheus collector: responder's counters as metric families, read
when Prometheus scrapes, so metrics cost nothing between scrapes.

This module and L{responder.metrics.serving} are the only ones that import
C{prometheus_client}: they are loaded only with C{--metrics}.
"""

import platform
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from .._version import __version__, distributionVersion
from ..core import LATENCY_BUCKETS, LatencyHistogram, ResponderStats
from ._sums import Snapshot, sumSnapshots


class ResponderCollector:
    """
    A C{prometheus_client} collector that reads responder's counters when
    scraped, and sums them over every source (one per worker process).

    @ivar source: called at every scrape; returns C{(stats, open
        connections)} for each process to count.
    """

    def __init__(self, source: Callable[[], Iterable[Snapshot]]) -> None:
        self.source = source
        self._buildLabels = [
            __version__,
            distributionVersion("twisted"),
            platform.python_version(),
        ]

    def collect(self) -> Iterator[Metric]:
        stats, active = sumSnapshots(self.source())
        return self._families(stats, active)

    def describe(self) -> Iterator[Metric]:
        """
        The families L{collect} yields, so that a registry knows their names
        (for clashes, and for C{?name[]=} filtering) without reading stats.
        """
        return self._families(ResponderStats(), 0)

    def _families(self, stats: ResponderStats, active: int) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "responder_connections",
            "Connections served (not refused).",
            value=stats.connections,
        )
        yield CounterMetricFamily(
            "responder_requests",
            "Requests received: answered, or met with a rule's fault.",
            value=stats.requests,
        )
        yield CounterMetricFamily(
            "responder_probes",
            "Connect-only probes: connections that ended without sending a "
            "byte (TCP health checks); not requests, and not logged.",
            value=stats.probes,
        )
        responses = CounterMetricFamily(
            "responder_responses",
            "Outcomes: requests answered; connections closed because their "
            "deadline passed, refused by a connection limit, by the "
            "allow/deny rules or for their PROXY header; reset after a "
            "request began and before its answer, by the client or by a "
            "rule; closed unanswered by a rule; left unanswered by a rule.",
            labels=["outcome"],
        )
        for outcome, count in (
            ("answered", stats.answered),
            ("timed_out", stats.timedOut),
            ("refused_limit", stats.refusedByLimit),
            ("refused_access", stats.refusedByAccess),
            ("refused_proxy", stats.refusedByProxy),
            ("reset", stats.reset + stats.resetByRule),
            ("closed", stats.closedByRule),
            ("unanswered", stats.unanswered),
        ):
            responses.add_metric([outcome], count)
        yield responses
        yield CounterMetricFamily(
            "responder_aborted",
            "Connections aborted because they would not close.",
            value=stats.aborted,
        )
        yield GaugeMetricFamily(
            "responder_active_connections", "Connections open now.", value=active
        )
        yield CounterMetricFamily(
            "responder_received_bytes", "Request bytes received.", value=stats.bytesIn
        )
        yield CounterMetricFamily(
            "responder_sent_bytes", "Response bytes written.", value=stats.bytesOut
        )
        yield CounterMetricFamily(
            "responder_log_dropped_lines",
            "Log lines dropped because standard output would not take them.",
            value=stats.logDropped,
        )
        yield _latencyFamily(stats.latency)
        build = GaugeMetricFamily(
            "responder_build_info",
            "Versions of responder, Twisted and Python; always 1.",
            labels=["version", "twisted", "python"],
        )
        build.add_metric(self._buildLabels, 1)
        yield build


def _latencyFamily(latency: LatencyHistogram) -> HistogramMetricFamily:
    """
    The latency histogram as Prometheus wants it: cumulative buckets, the
    last one C{+Inf} (the count of all observations).
    """
    buckets: list[tuple[str, float]] = []
    cumulative = 0
    bounds = [*map(floatToGoString, LATENCY_BUCKETS), "+Inf"]
    for bound, count in zip(bounds, latency.counts, strict=True):
        cumulative += count
        buckets.append((bound, cumulative))
    return HistogramMetricFamily(
        "responder_request_latency_seconds",
        "Time from a complete request to its response written.",
        buckets=buckets,
        sum_value=latency.total,
    )
