"""
Serving metrics over HTTP: the one module of responder that uses
C{twisted.web}, loaded only with C{--metrics}.
"""

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IReactorTime
from twisted.web import http
from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from ..config import ResponderConfig
from ..core import EndpointService, installedReactor


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
    L{responder.options.parseEndpoint}).  An idle connection is closed
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
