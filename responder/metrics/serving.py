"""
Serving metrics over HTTP: the one module of responder that uses
C{twisted.web}, loaded only with C{--metrics}.
"""

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import Protocol, connectionDone
from twisted.protocols import basic
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from ..config import ResponderConfig
from ..core import (
    EndpointService,
    RefusalReporter,
    describeAddress,
    installedReactor,
    sendAtOnce,
)


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


#: Scrapers served at once; one more is closed as it connects.  A
#: Prometheus server or two keep one connection each: this is room to
#: spare, and keeps idle or hostile scrapers from taking the descriptors
#: the responder's own clients need.
MAX_CONNECTIONS = 8

#: What the connection cap is called in the refusal log.
REFUSED_BY_METRICS_LIMIT = "metrics connection limit"

_METHODS = (b"GET", b"HEAD")


class _MetricsChannel(http.HTTPChannel):
    """
    An HTTP connection that asks for metrics, and nothing else.

    Only C{GET} and C{HEAD} with no body are served: any other method is
    answered C{405}, and a body (C{Content-Length} above 0, or chunked)
    C{413}, as soon as the headers are in, before twisted.web would keep
    the body (spooled to a temporary file when large).  Nothing of a body
    is read.

    The timeout counts from the connection, or from the previous
    response, to a complete request: bytes trickling in do not restart it,
    as they do twisted.web's idle timer.
    """

    #: Seconds a timed-out connection gets to close before it is aborted.
    abortTimeout = 5
    _refused = False
    #: Set by the site that builds it.
    site: "MetricsSite"

    def connectionMade(self) -> None:
        super().connectionMade()  # type: ignore[no-untyped-call]
        self.site.openChannels += 1

    def dataReceived(self, data: bytes) -> None:
        # HTTPChannel.dataReceived restarts the timeout first: skip that.
        basic.LineReceiver.dataReceived(self, data)

    def allHeadersReceived(self) -> None:
        if self._command not in _METHODS:
            self._refuse(b"405 Method Not Allowed", b"Allow: GET, HEAD\r\n")
        elif self.length != 0:
            self._refuse(b"413 Content Too Large")
        else:
            super().allHeadersReceived()  # type: ignore[no-untyped-call]

    def _refuse(self, status: bytes, headers: bytes = b"") -> None:
        self._refused = True
        self.transport.write(  # type: ignore[union-attr]
            b"HTTP/1.1 " + status + b"\r\n" + headers
            + b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )  # fmt: skip
        self.loseConnection()  # type: ignore[no-untyped-call]

    def allContentReceived(self) -> None:
        if not self._refused:
            super().allContentReceived()  # type: ignore[no-untyped-call]

    def rawDataReceived(self, data: bytes) -> None:
        if not self._refused:
            super().rawDataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.site.openChannels -= 1
        super().connectionLost(reason)  # type: ignore[no-untyped-call]


class _Closing(Protocol):
    """
    A scraper over the connection cap: closed at once, unread.
    """

    def connectionMade(self) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]


class MetricsSite(Site):
    """
    The metrics site: L{_MetricsChannel}s, at most C{maxConnections} of
    them open at once (refusals are logged as the responder's are: once,
    then in summaries), and no access log.

    @ivar openChannels: connections open now.
    """

    protocol = _MetricsChannel  # type: ignore[assignment]
    noisy = False

    def __init__(
        self,
        resource: Resource,
        reactor: IReactorTime,
        timeout: float,
        maxConnections: int = MAX_CONNECTIONS,
    ) -> None:
        super().__init__(resource, reactor=reactor, timeout=timeout)  # type: ignore[no-untyped-call]
        self.maxConnections = maxConnections
        self.openChannels = 0
        self._refusals = RefusalReporter(reactor, EndpointService.log)

    def buildProtocol(self, addr: IAddress) -> Protocol | None:  # type: ignore[override]
        if self.openChannels >= self.maxConnections:
            self._refusals.refused(REFUSED_BY_METRICS_LIMIT, describeAddress(addr))
            return _Closing()
        channel: Protocol | None = super().buildProtocol(addr)  # type: ignore[no-untyped-call]
        return channel

    def stopFactory(self) -> None:
        super().stopFactory()
        self._refusals.stop()

    def log(self, request: http.Request) -> None:
        """
        Scrapes are not logged.
        """


def makeMetricsService(
    description: str,
    collector: Collector,
    reactor: IReactorTime | None = None,
    timeout: float = ResponderConfig.timeout,
    closeAtOnce: bool = True,
) -> EndpointService:
    """
    A service serving C{collector}'s metrics, from a registry of their own,
    at C{/metrics} on the endpoint C{description} (already checked by
    L{responder.options.parseEndpoint}), through a L{MetricsSite}: a
    request must be complete within C{timeout} seconds of the connection
    or of the previous response, as responder's own requests must, rather
    than twisted.web's twelve hours of idle time.

    Add it to the L{ResponderService}: a failure to listen then ends the
    start the same way as for the responder's own endpoints.

    @param closeAtOnce: give a TCP port the transport that closes at once
        (L{responder.core.sendAtOnce}; not with C{--stock-transport}): a
        scraper over the cap then gives its descriptor back as it is
        accepted.  With Twisted's own transport it keeps it until the
        next reactor iteration, and a flood of them, accepted in one batch,
        can take every descriptor the responder's clients need.
    """
    if reactor is None:
        reactor = installedReactor()
    registry = CollectorRegistry()
    registry.register(collector)
    site = MetricsSite(MetricsPage(registry), reactor, timeout)
    endpoint = serverFromString(reactor, description)
    return EndpointService(
        description,
        endpoint,
        site,
        purpose="metrics",
        onListening=sendAtOnce if closeAtOnce else None,
    )
