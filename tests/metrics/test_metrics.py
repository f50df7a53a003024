"""
Prometheus metrics: the collector's families, the worker snapshot files,
and the HTTP service, the last over real sockets on loopback.
"""

import json
import os
import platform
import socket
from collections.abc import Iterator
from importlib.metadata import version
from typing import cast

import pytest
import pytest_twisted
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IReactorTime,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.logger import ILogObserver, LogEvent, Logger, formatEvent
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import Site
from zope.interface import implementer

from responder import (
    ResponderConfig,
    ResponderFactory,
    ResponderStats,
    ask,
    makeService,
)
from responder.core import (
    LATENCY_BUCKETS,
    EndpointService,
    LatencyHistogram,
    ListenFailed,
    ReadAtOncePort,
)
from responder.metrics import (
    COUNTERS,
    SharedStats,
    SharedStatsTable,
    attachStats,
    factorySource,
    statsFromJSON,
    statsToJSON,
    sumSnapshots,
)
from responder.metrics.collector import ResponderCollector
from responder.metrics.serving import makeMetricsService

from ..support import PEER, Harness

FAMILIES = {
    "responder_connections",
    "responder_requests",
    "responder_probes",
    "responder_responses",
    "responder_aborted",
    "responder_active_connections",
    "responder_received_bytes",
    "responder_sent_bytes",
    "responder_log_dropped_lines",
    "responder_request_latency_seconds",
    "responder_build_info",
}


def someStats(scale: int = 1) -> ResponderStats:
    """
    Stats with a different value in every counter and a histogram with
    observations in several buckets, including the last (+Inf) one.
    """
    counts = [0] * (len(LATENCY_BUCKETS) + 1)
    counts[0] = 1 * scale
    counts[2] = 2 * scale
    counts[-1] = 4 * scale
    return ResponderStats(
        connections=11 * scale,
        requests=10 * scale,
        answered=9 * scale,
        closedByRule=6 * scale,
        resetByRule=7 * scale,
        unanswered=8 * scale,
        timedOut=2 * scale,
        aborted=1 * scale,
        reset=3 * scale,
        probes=12 * scale,
        refusedByAccess=4 * scale,
        refusedByLimit=5 * scale,
        refusedByProxy=12 * scale,
        bytesIn=600 * scale,
        bytesOut=210 * scale,
        logDropped=12 * scale,
        latency=LatencyHistogram(counts=counts, total=48.5 * scale),
    )


def scrape(collector: ResponderCollector) -> dict[str, Metric]:
    """
    The text exposition of C{collector}, parsed back into families by name.
    """
    registry = CollectorRegistry()
    registry.register(collector)
    return parse(generate_latest(registry).decode())


def parse(text: str) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(family: Metric, **labels: str) -> float:
    [sample] = [s for s in family.samples if s.labels == labels]
    return sample.value


class CollectorTests(SynchronousTestCase):
    def test_families(self) -> None:
        """
        Every family is there, with its type.
        """
        families = scrape(ResponderCollector(lambda: [(ResponderStats(), 0)]))
        self.assertEqual(set(families), FAMILIES)
        self.assertEqual(
            {name: family.type for name, family in families.items()},
            {
                "responder_connections": "counter",
                "responder_requests": "counter",
                "responder_probes": "counter",
                "responder_responses": "counter",
                "responder_aborted": "counter",
                "responder_active_connections": "gauge",
                "responder_received_bytes": "counter",
                "responder_sent_bytes": "counter",
                "responder_log_dropped_lines": "counter",
                "responder_request_latency_seconds": "histogram",
                "responder_build_info": "gauge",
            },
        )

    def test_counters(self) -> None:
        families = scrape(ResponderCollector(lambda: [(someStats(), 7)]))
        self.assertEqual(value(families["responder_connections"]), 11)
        self.assertEqual(value(families["responder_requests"]), 10)
        self.assertEqual(value(families["responder_probes"]), 12)
        self.assertEqual(value(families["responder_aborted"]), 1)
        self.assertEqual(value(families["responder_active_connections"]), 7)
        self.assertEqual(value(families["responder_received_bytes"]), 600)
        self.assertEqual(value(families["responder_sent_bytes"]), 210)
        self.assertEqual(value(families["responder_log_dropped_lines"]), 12)
        responses = families["responder_responses"]
        self.assertEqual(
            {s.labels["outcome"]: s.value for s in responses.samples},
            {
                "answered": 9,
                "timed_out": 2,
                "refused_limit": 5,
                "refused_access": 4,
                "refused_proxy": 12,
                "reset": 3 + 7,
                "closed": 6,
                "unanswered": 8,
            },
        )
        self.assertEqual(
            {s.name for s in responses.samples}, {"responder_responses_total"}
        )

    def test_histogram(self) -> None:
        """
        Per-bucket counts become cumulative buckets ending in +Inf, with the
        count of all observations and their sum.
        """
        families = scrape(ResponderCollector(lambda: [(someStats(), 0)]))
        latency = families["responder_request_latency_seconds"]
        buckets = [
            (s.labels["le"], s.value)
            for s in latency.samples
            if s.name == "responder_request_latency_seconds_bucket"
        ]
        self.assertEqual(
            buckets,
            [
                ("0.0001", 1),
                ("0.0005", 1),
                ("0.001", 3),
                ("0.005", 3),
                ("0.01", 3),
                ("0.05", 3),
                ("0.1", 3),
                ("0.5", 3),
                ("1.0", 3),
                ("5.0", 3),
                ("10.0", 3),
                ("+Inf", 7),
            ],
        )
        samples = {s.name: s.value for s in latency.samples}
        self.assertEqual(samples["responder_request_latency_seconds_count"], 7)
        self.assertEqual(samples["responder_request_latency_seconds_sum"], 48.5)

    def test_histogram_from_observations(self) -> None:
        stats = ResponderStats()
        for seconds in (0.0001, 0.0002, 0.3, 11.0):
            stats.latency.observe(seconds)
        families = scrape(ResponderCollector(lambda: [(stats, 0)]))
        buckets = {
            s.labels["le"]: s.value
            for s in families["responder_request_latency_seconds"].samples
            if "le" in s.labels
        }
        self.assertEqual(
            (buckets["0.0001"], buckets["0.0005"], buckets["0.5"], buckets["+Inf"]),
            (1, 2, 3, 4),
        )

    def test_build_info(self) -> None:
        families = scrape(ResponderCollector(lambda: []))
        [sample] = families["responder_build_info"].samples
        self.assertEqual(
            sample.labels,
            {
                "version": version("txresponder"),
                "twisted": version("twisted"),
                "python": platform.python_version(),
            },
        )
        self.assertEqual(sample.value, 1)

    def test_no_sources(self) -> None:
        """
        With no source (a parent whose workers have not written yet), every
        counter is zero.
        """
        families = scrape(ResponderCollector(lambda: []))
        self.assertEqual(value(families["responder_requests"]), 0)
        self.assertEqual(value(families["responder_active_connections"]), 0)

    def test_sums_sources(self) -> None:
        families = scrape(
            ResponderCollector(lambda: [(someStats(), 2), (someStats(10), 3)])
        )
        self.assertEqual(value(families["responder_requests"]), 110)
        self.assertEqual(value(families["responder_active_connections"]), 5)
        resets = value(families["responder_responses"], outcome="reset")
        self.assertEqual(resets, 33 + 77, "client resets and rule resets")
        latency = {
            s.labels.get("le", s.name): s.value
            for s in families["responder_request_latency_seconds"].samples
        }
        self.assertEqual(latency["0.001"], 33)
        self.assertEqual(latency["+Inf"], 77)
        self.assertEqual(latency["responder_request_latency_seconds_sum"], 533.5)

    def test_sum_snapshots(self) -> None:
        total, active = sumSnapshots([(someStats(), 1), (someStats(2), 4)])
        self.assertEqual(total, someStats(3))
        self.assertEqual(active, 5)

    def test_reads_at_every_scrape(self) -> None:
        """
        The source is called at each scrape, so later counts show.
        """
        harness = Harness()
        collector = ResponderCollector(factorySource(harness.factory))
        self.assertEqual(value(scrape(collector)["responder_requests"]), 0)
        harness.connect()
        harness.factory.stats.requests += 3
        families = scrape(collector)
        self.assertEqual(value(families["responder_requests"]), 3)
        self.assertEqual(value(families["responder_active_connections"]), 1)

    def test_separate_registries(self) -> None:
        """
        Each collector goes in a registry of its own: two factories in one
        process do not clash, and the global registry is left alone.
        """
        first = ResponderCollector(lambda: [(someStats(), 0)])
        second = ResponderCollector(lambda: [(someStats(2), 0)])
        self.assertEqual(value(scrape(first)["responder_requests"]), 10)
        self.assertEqual(value(scrape(second)["responder_requests"]), 20)


class SnapshotJSONTests(SynchronousTestCase):
    def test_round_trip(self) -> None:
        stats = someStats()
        stats.latency.observe(0.0003)
        data = json.loads(json.dumps(statsToJSON(stats)))
        self.assertEqual(statsFromJSON(data), stats)

    def test_missing_counters(self) -> None:
        """
        Counters missing from the file (written by a version that did not
        have them) are zero; unknown ones are ignored.
        """
        self.assertEqual(
            statsFromJSON({"requests": 3, "future": 1}), ResponderStats(requests=3)
        )

    def test_bad(self) -> None:
        good = statsToJSON(someStats())
        bad: object
        for bad in (
            [],
            {**good, "requests": "3"},
            {**good, "requests": 1.5},
            {**good, "requests": True},
            {**good, "latency": []},
            {**good, "latency": {"counts": [1, 2], "total": 0.0}},
            {**good, "latency": {"counts": good["latency"]["counts"], "total": "x"}},
        ):
            self.assertRaises(ValueError, statsFromJSON, bad)


class SharedStatsTests(SynchronousTestCase):
    """
    Workers count in shared memory that the parent reads.
    """

    def setUp(self) -> None:
        self.table = SharedStatsTable(2)
        self.addCleanup(self.table.close)

    def attach(self, slot: int) -> SharedStats:
        # A worker gets the descriptor as its own; here, a copy of it.
        fd = os.dup(self.table.fileno())
        self.addCleanup(os.close, fd)
        return attachStats(fd, slot)

    def test_unnamed(self) -> None:
        """
        The table is a file with no name: a parent killed outright leaves
        nothing behind.
        """
        self.assertEqual(os.fstat(self.table.fileno()).st_nlink, 0)

    def test_counts_reach_the_parent(self) -> None:
        """
        Every counter, bucket and the latency total written in a worker's
        slot is in the parent's view at once, with no write of a file.
        """
        stats = self.attach(1)
        expected = someStats()
        for name in COUNTERS:
            setattr(stats, name, getattr(expected, name))
        stats.latency = expected.latency
        stats.setActive(3)
        self.assertEqual(self.table.snapshot(1, alive=True), (expected, 3))
        self.assertEqual(self.table.snapshot(1, alive=False), (expected, 0))
        self.assertEqual(self.table.snapshot(0, alive=True), (ResponderStats(), 0))

    def test_factory_counts_there(self) -> None:
        """
        A factory given shared stats counts its requests and latencies in
        them.
        """
        config = ResponderConfig(metrics="tcp:0", quiet=True)
        factory = ResponderFactory(config, clock=Clock(), stats=self.attach(0))
        protocol = factory.buildProtocol(PEER)
        assert protocol is not None
        protocol.makeConnection(StringTransport(peerAddress=PEER))
        protocol.dataReceived(b"hello\0")
        snapshot, _ = self.table.snapshot(0, alive=True)
        self.assertEqual((snapshot.connections, snapshot.requests), (1, 1))
        self.assertEqual(sum(snapshot.latency.counts), 1)

    def test_replacement_carries_on(self) -> None:
        """
        A worker that replaces a dead one in the same slot counts on from
        its counts: nothing is lost, nothing counted twice.
        """
        first = self.attach(0)
        first.requests += 7
        del first
        second = self.attach(0)
        second.requests += 1
        source = self.table.source(lambda: [True, False])
        families = scrape(ResponderCollector(source))
        self.assertEqual(value(families["responder_requests"]), 8)


@implementer(IListeningPort)
class FakePort:
    """
    A port that stops listening when told to by the test.
    """

    def __init__(self) -> None:
        self.stopping: Deferred[None] | None = None

    def startListening(self) -> None:
        pass

    def stopListening(self) -> Deferred[None]:
        self.stopping = Deferred()
        return self.stopping

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 9100)


@implementer(IStreamServerEndpoint)
class FakeEndpoint:
    def __init__(self) -> None:
        self.port = FakePort()
        self.factories: list[IProtocolFactory] = []

    def listen(self, factory: IProtocolFactory) -> Deferred[IListeningPort]:
        self.factories.append(factory)
        return succeed(self.port)


class MetricsServiceTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.events: list[LogEvent] = []
        self.endpoint = FakeEndpoint()
        self.service = EndpointService(
            "tcp:9100:interface=127.0.0.1",
            self.endpoint,
            Factory.forProtocol(Protocol),
            purpose="metrics",
        )
        self.service.log = Logger(
            namespace="responder", observer=cast(ILogObserver, self.events.append)
        )

    def test_listens(self) -> None:
        """
        The service listens once, before privileges are dropped, and logs
        where, and what for.
        """
        self.service.privilegedStartService()
        self.service.startService()
        self.assertEqual(self.endpoint.factories, [self.service.factory])
        self.assertIs(self.service.port, self.endpoint.port)
        self.assertEqual(
            [formatEvent(event) for event in self.events],
            ["listening on 127.0.0.1:9100 for metrics"],
        )

    def test_stops(self) -> None:
        """
        Stopping stops listening, and waits for the port to close.
        """
        self.service.startService()
        stopped = self.service.stopService()
        self.assertIsNone(self.service.port)
        self.assertFalse(self.service.running)
        self.assertNoResult(stopped)
        assert self.endpoint.port.stopping is not None
        self.endpoint.port.stopping.callback(None)
        self.successResultOf(stopped)

    def test_make(self) -> None:
        """
        L{makeMetricsService} listens where it is told, and serves the
        collector, alone, from a registry of its own.
        """
        reactor = MemoryReactor()
        service = makeMetricsService(
            "tcp:9100:interface=127.0.0.1",
            ResponderCollector(lambda: []),
            cast(IReactorTime, reactor),
            timeout=7,
        )
        service.startService()
        [(port, site, _, interface)] = reactor.tcpServers
        self.assertEqual((port, interface), (9100, "127.0.0.1"))
        self.assertIs(site, service.factory)
        # Idle scrapers are closed as responder's idle clients are.
        self.assertEqual(cast(Site, site).timeOut, 7)
        registry = cast(Site, site).resource.registry
        names = {family.name for family in registry.collect()}
        self.assertEqual(names, FAMILIES)

    def test_timeout_from_config(self) -> None:
        """
        L{makeService} gives the metrics endpoint the configured timeout.
        """
        config = ResponderConfig(endpoints=("tcp:1984",), metrics="tcp:9100", timeout=3)
        service = makeService(config, cast(IReactorTime, MemoryReactor()))
        [metrics] = [
            child
            for child in service
            if isinstance(child, EndpointService) and child.purpose
        ]
        self.assertEqual(cast(Site, metrics.factory).timeOut, 3)


# Over loopback, with the real reactor.


async def get(port: int, path: bytes, headers: bytes = b"") -> tuple[bytes, bytes]:
    """
    An HTTP/1.0 GET of C{path}, so the server closes when it has answered.

    @return: the status line and headers, and the body.
    """
    from twisted.internet import reactor

    response = await ask(
        reactor,
        f"tcp:127.0.0.1:{port}",
        b"GET " + path + b" HTTP/1.0\r\n" + headers + b"\r\n",
    )
    head, _, body = response.partition(b"\r\n\r\n")
    return head, body


@pytest.fixture
def ports() -> Iterator[list[IListeningPort]]:
    listening: list[IListeningPort] = []
    yield listening
    for port in listening:
        pytest_twisted.blockon(maybeDeferred(port.stopListening))


@pytest_twisted.ensureDeferred
async def test_scrape_after_requests(ports: list[IListeningPort]) -> None:
    """
    After five requests to a real server, a scrape over loopback counts
    five requests and no open connection.
    """
    from twisted.internet import reactor

    factory = ResponderFactory(log=Logger(observer=cast(ILogObserver, lambda e: None)))
    server = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
        factory
    )
    ports.append(server)
    address = f"tcp:127.0.0.1:{server.getHost().port}"
    service = makeMetricsService(
        "tcp:0:interface=127.0.0.1", ResponderCollector(factorySource(factory))
    )
    service.startService()
    try:
        assert service.port is not None
        metricsPort = service.port.getHost().port  # type: ignore[attr-defined]
        for n in range(5):
            assert await ask(reactor, address, b"hello %d\0" % n) == (
                b"This is the response\0"
            )
        head, body = await get(metricsPort, b"/metrics")
    finally:
        await service.stopService()
    assert head.startswith(b"HTTP/1.0 200 ")
    assert b"\r\ncontent-type: text/plain; version=0.0.4" in head.lower()
    text = body.decode()
    assert "\nresponder_requests_total 5.0\n" in text
    assert "\nresponder_active_connections 0.0\n" in text
    families = parse(text)
    assert set(families) == FAMILIES
    assert value(families["responder_responses"], outcome="answered") == 5


@pytest_twisted.ensureDeferred
async def test_paths(ports: list[IListeningPort]) -> None:
    """
    Metrics are at C{/} as well as C{/metrics}; other paths are not found.
    C{name[]} picks families, and OpenMetrics is served to who asks.
    """
    service = makeMetricsService(
        "tcp:0:interface=127.0.0.1", ResponderCollector(lambda: [(someStats(), 1)])
    )
    service.startService()
    try:
        assert service.port is not None
        port = service.port.getHost().port  # type: ignore[attr-defined]
        root = await get(port, b"/")
        metrics = await get(port, b"/metrics")
        missing = await get(port, b"/favicon.ico")
        picked = await get(
            port,
            b"/metrics?name[]=responder_requests_total"
            b"&name[]=responder_active_connections",
        )
        openMetrics = await get(
            port, b"/metrics", b"Accept: application/openmetrics-text\r\n"
        )
        # Once a 500 and a logged traceback.
        notUTF8 = await get(port, b"/metrics", b"Accept: \xff\xfe\r\n")
    finally:
        await service.stopService()
    assert root[0].startswith(b"HTTP/1.0 200 ")
    assert root[1] == metrics[1]
    assert b"\nresponder_requests_total 10.0\n" in metrics[1]
    assert missing[0].startswith(b"HTTP/1.0 404 ")
    assert set(parse(picked[1].decode())) == {
        "responder_requests",
        "responder_active_connections",
    }
    assert b"content-type: application/openmetrics-text" in openMetrics[0].lower()
    assert openMetrics[1].endswith(b"# EOF\n")
    assert notUTF8[0].startswith(b"HTTP/1.0 200 ")
    assert notUTF8[1] == metrics[1]


@pytest.mark.parametrize("stock", [False, True])
@pytest_twisted.ensureDeferred
async def test_metrics_port_closes_at_once(stock: bool) -> None:
    """
    The metrics endpoint's TCP port gets the transport that closes at
    once, so that scrapers over the cap give their descriptors back as
    they are accepted; with C{--stock-transport}, Twisted's own.
    """
    from twisted.internet import reactor

    config = ResponderConfig(
        endpoints=("tcp:0:interface=127.0.0.1",),
        metrics="tcp:0:interface=127.0.0.1",
        stockTransport=stock,
    )
    top = makeService(config, cast(IReactorTime, reactor))
    top.startService()
    try:
        [metrics] = [
            child
            for child in cast(Iterator[object], top)
            if isinstance(child, EndpointService) and child.purpose
        ]
        assert metrics.port is not None
        assert isinstance(metrics.port, ReadAtOncePort) is not stock
    finally:
        await top.stopService()


@pytest_twisted.ensureDeferred
async def test_listen_failure() -> None:
    """
    A port in use is a L{ListenFailed} that names the endpoint.
    """
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        description = f"tcp:{taken.getsockname()[1]}:interface=127.0.0.1"
        service = makeMetricsService(description, ResponderCollector(lambda: []))
        with pytest.raises(
            ListenFailed, match=f"cannot listen on {description} for metrics"
        ):
            service.privilegedStartService()
    await service.stopService()
