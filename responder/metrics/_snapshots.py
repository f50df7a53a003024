"""
Prometheus metrics: C{--metrics ENDPOINT} serves the counters in
L{ResponderStats} in the Prometheus text format.

Nothing here runs per request.  The server only bumps the plain integers of
its L{ResponderStats}; L{ResponderCollector} turns them into metric
families when Prometheus scrapes, so metrics cost nothing between scrapes.

With several worker processes each worker owns its counters, so the totals
are gathered through files: every worker runs a L{StatsSnapshotWriter},
which rewrites C{DIRECTORY/worker-PID.json} (atomically, once a second when
something changed, and a last time when it stops, with no connection open),
and the parent serves a L{ResponderCollector} over L{readSnapshots} of that
directory.  A worker that died and was replaced leaves its file behind, so
its counts stay in the totals; its open connections are not counted once
its file is final, or once the parent leaves its process id out of the
C{alive} it passes to L{readSnapshots}.
"""

import json
import os
import platform
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import fields
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString
from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import (
    IReactorTime,
)
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.web import http
from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from ._config import ResponderConfig
from ._factory import ResponderFactory
from ._listening import EndpointService
from ._reactor import installedReactor
from ._stats import LATENCY_BUCKETS, LatencyHistogram, ResponderStats

_log = Logger(namespace="responder")

#: What a stats source gives: counters, and the connections open now.
Snapshot = tuple[ResponderStats, int]

#: Where a collector gets its snapshots from, at each scrape.
StatsSource = Callable[[], Iterable[Snapshot]]

#: The integer counters of L{ResponderStats}, whatever gets added later.
_COUNTERS = tuple(f.name for f in fields(ResponderStats) if f.name != "latency")


def factorySource(factory: ResponderFactory) -> StatsSource:
    """
    The stats source of one process: C{factory}'s counters and open
    connections, read afresh at every scrape.
    """
    return lambda: [(factory.stats, len(factory.connections))]


def sumSnapshots(snapshots: Iterable[Snapshot]) -> Snapshot:
    """
    Add up several processes' counters, histograms and open connections.
    """
    total = ResponderStats()
    active = 0
    for stats, count in snapshots:
        for name in _COUNTERS:
            setattr(total, name, getattr(total, name) + getattr(stats, name))
        total.latency.counts = [
            a + b
            for a, b in zip(total.latency.counts, stats.latency.counts, strict=True)
        ]
        total.latency.total += stats.latency.total
        active += count
    return total, active


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        # Running from a checkout that was never installed.
        return "unknown"


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
            _version("responder"),
            _version("twisted"),
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
        responses = CounterMetricFamily(
            "responder_responses",
            "Outcomes: requests answered; connections closed because their "
            "deadline passed, refused by a connection limit or by the "
            "allow/deny rules; reset before an answer, by the client or by a "
            "rule; closed unanswered by a rule; left unanswered by a rule.",
            labels=["outcome"],
        )
        for outcome, count in (
            ("answered", stats.answered),
            ("timed_out", stats.timedOut),
            ("refused_limit", stats.refusedByLimit),
            ("refused_access", stats.refusedByAccess),
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


# Worker snapshots.


def statsToJSON(stats: ResponderStats) -> dict[str, Any]:
    """
    C{stats} as JSON-ready data.
    """
    data: dict[str, Any] = {name: getattr(stats, name) for name in _COUNTERS}
    data["latency"] = {
        "counts": list(stats.latency.counts),
        "total": stats.latency.total,
    }
    return data


def statsFromJSON(data: object) -> ResponderStats:
    """
    The L{ResponderStats} that L{statsToJSON} made C{data} from.  Missing
    counters are zero, unknown ones are ignored.

    @raise ValueError: if C{data} is not stats, or its histogram has other
        buckets.
    """
    if not isinstance(data, dict):
        raise ValueError("stats are not an object")
    stats = ResponderStats()
    for name in _COUNTERS:
        value = data.get(name, 0)
        if type(value) is not int:
            raise ValueError(f"{name} is not a whole number")
        setattr(stats, name, value)
    latency = data.get("latency", {})
    if not isinstance(latency, dict):
        raise ValueError("latency is not an object")
    counts = latency.get("counts", stats.latency.counts)
    total = latency.get("total", 0.0)
    if (
        not isinstance(counts, list)
        or len(counts) != len(stats.latency.counts)
        or not all(type(count) is int for count in counts)
    ):
        raise ValueError("latency counts do not match the buckets")
    if type(total) not in (int, float):
        raise ValueError("latency total is not a number")
    stats.latency = LatencyHistogram(counts=counts, total=float(total))
    return stats


_PREFIX = "worker-"
_SUFFIX = ".json"


def snapshotPath(directory: str | Path, pid: int) -> Path:
    """
    Where the worker with process id C{pid} writes its snapshot.
    """
    return Path(directory) / f"{_PREFIX}{pid}{_SUFFIX}"


def _readSnapshot(path: Path) -> Snapshot:
    """
    @raise ValueError: if C{path} holds no snapshot.
    @raise OSError: if it cannot be read.
    """
    try:
        data = json.loads(path.read_bytes())
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError("not a snapshot")
    active = data.get("active")
    if type(active) is not int:
        raise ValueError("active is not a whole number")
    return statsFromJSON(data.get("stats")), active


def readSnapshots(
    directory: str | Path,
    alive: Container[int] | None = None,
    log: Logger | None = None,
) -> list[Snapshot]:
    """
    Read every worker's snapshot in C{directory}, for a
    L{ResponderCollector} in the parent: C{ResponderCollector(lambda:
    readSnapshots(directory, alive=pids))}.

    Every file counts, including those of workers that have exited, so that
    counters never go down when a worker is replaced.  A worker that stops
    cleanly writes zero open connections last; one that was killed cannot,
    so the open connections of process ids not in C{alive} count as zero
    (when C{alive} is given).

    A file that cannot be read or parsed is logged and skipped.

    @param alive: the process ids of the workers running now, or C{None} to
        trust every file's count of open connections.
    """
    snapshots: list[Snapshot] = []
    for path in sorted(Path(directory).glob(f"{_PREFIX}*{_SUFFIX}")):
        pidText = path.name[len(_PREFIX) : -len(_SUFFIX)]
        if not pidText.isdigit():
            continue
        try:
            stats, active = _readSnapshot(path)
        except (OSError, ValueError) as e:
            (log or _log).warn(
                "cannot read worker stats {path}: {error}", path=str(path), error=e
            )
            continue
        if alive is not None and int(pidText) not in alive:
            active = 0
        snapshots.append((stats, active))
    return snapshots


class StatsSnapshotWriter(Service):
    """
    Keep a worker's counters in C{DIRECTORY/worker-PID.json} for the parent
    to read with L{readSnapshots}.

    While running, the file is rewritten every L{interval} seconds when
    anything changed; stopping writes it a last time with no connection
    open.  Stop it after the worker's L{ResponderService} has drained, so
    that the last counts are in, for example with
    C{reactor.addSystemEventTrigger("after", "shutdown", writer.stopService)}.

    Each write goes to a temporary file that then replaces the snapshot, so
    a reader never sees half a file.  If the file already exists when the
    writer starts, an earlier worker with the same process id wrote it, and
    its counts are carried on, not lost.  The directory belongs to one run
    of the parent: it should make a fresh one, and remove it at exit.

    @ivar path: the snapshot file.
    """

    #: Seconds between checks for changes.
    interval = 1.0

    log = _log

    def __init__(
        self,
        directory: str | Path,
        factory: ResponderFactory,
        clock: IReactorTime,
        pid: int | None = None,
    ) -> None:
        if pid is None:
            pid = os.getpid()
        self.pid = pid
        self.factory = factory
        self.path = snapshotPath(directory, pid)
        self._temporary = self.path.with_name(f".{self.path.name}.tmp")
        self._written: bytes | None = None
        self._carried: ResponderStats | None = None
        self._loop = LoopingCall(self._tick)
        self._loop.clock = clock

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        if self._carried is None:
            self._carried = self._earlierStats()
        self._loop.start(self.interval, now=True)

    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        if self._loop.running:
            self._loop.stop()
        self._tick(final=True)
        return succeed(None)

    def _earlierStats(self) -> ResponderStats:
        try:
            stats, _ = _readSnapshot(self.path)
        except FileNotFoundError:
            return ResponderStats()
        except (OSError, ValueError) as e:
            self.log.warn(
                "ignoring unreadable worker stats {path}: {error}",
                path=str(self.path),
                error=e,
            )
            return ResponderStats()
        return stats

    def _tick(self, final: bool = False) -> None:
        try:
            self.write(final)
        except OSError as e:
            self.log.warn(
                "cannot write worker stats {path}: {error}",
                path=str(self.path),
                error=e,
            )

    def write(self, final: bool = False) -> bool:
        """
        Write the snapshot now, unless it has not changed.

        @param final: write zero open connections, for a worker about to
            exit.
        @return: whether the file was written.
        @raise OSError: if it could not be.
        """
        active = 0 if final else len(self.factory.connections)
        stats = self.factory.stats
        if self._carried is not None:
            stats, _ = sumSnapshots([(self._carried, 0), (stats, 0)])
        data = json.dumps(
            {"pid": self.pid, "active": active, "stats": statsToJSON(stats)},
            separators=(",", ":"),
        ).encode()
        if data == self._written:
            return False
        self._temporary.write_bytes(data)
        os.replace(self._temporary, self.path)
        self._written = data
        return True


# Serving.


class MetricsPage(Resource):
    """
    The metrics of a registry, at C{/} and C{/metrics}, in the Prometheus
    text format, or OpenMetrics if the scraper asks for it.  C{?name[]=}
    picks families by name, as C{prometheus_client}'s own handlers do.

    Unlike C{prometheus_client.twisted.MetricsResource}, this renders in the
    reactor thread: the counters are only ever touched there, and that
    resource needs the global reactor and its thread pool.
    """

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.registry = registry

    def render_GET(self, request: Request) -> bytes:
        if request.postpath not in ([b""], [b"metrics"]):
            page: bytes = notFound().render(request)
            return page
        # Read as bytes: asked for by name, Twisted decodes the header as
        # UTF-8 and a client's bad byte would be a 500 and a traceback.
        accept = (request.getHeader(b"accept") or b"").decode("latin-1")
        encoder, contentType = choose_encoder(accept)
        collector: Collector = self.registry
        names = (request.args or {}).get(b"name[]")
        if names:
            collector = self.registry.restricted_registry(
                name.decode("utf-8", "replace") for name in names
            )
        request.setHeader("content-type", contentType)
        return encoder(collector)


class _QuietSite(Site):
    """
    A site that does not log every scrape.
    """

    noisy = False

    def log(self, request: http.Request) -> None:
        pass


def makeMetricsService(
    description: str,
    collector: Collector,
    reactor: IReactorTime | None = None,
    timeout: float = ResponderConfig.timeout,
) -> EndpointService:
    """
    A service serving C{collector}'s metrics, from a registry of their own,
    at C{/metrics} on the endpoint C{description} (already checked by
    L{responder._config.parseEndpoint}).  An idle connection is closed
    after C{timeout} seconds, as responder's own are, rather than after
    twisted.web's twelve hours.

    Add it to the L{ResponderService}: a failure to listen then ends the
    start the same way as for the responder's own endpoints.
    """
    if reactor is None:
        reactor = installedReactor()
    registry = CollectorRegistry()
    registry.register(collector)
    site = _QuietSite(MetricsPage(registry), reactor=reactor, timeout=timeout)  # type: ignore[no-untyped-call]
    endpoint = serverFromString(reactor, description)
    return EndpointService(description, endpoint, site, purpose="metrics")
