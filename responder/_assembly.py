"""
The assembly: one configuration becomes the services that serve it.

One process gets a L{ResponderService}; C{--workers N} gets a
L{responder.workers.WorkerPoolService} that wraps that same service (it
listens, its workers serve), as a supervisor wraps a server rather than
being one.  Metrics and the control API, when asked for, are served
beside it.  The optional parts are imported here, and only when the
configuration asks for them.
"""

from typing import TYPE_CHECKING

from twisted.internet.interfaces import IReactorTime

from .config import ResponderConfig
from .core import (
    EndpointService,
    ResponderFactory,
    ResponderService,
    installedReactor,
    serverEndpoint,
)

if TYPE_CHECKING:
    from .workers import WorkerPoolService


def makeService(
    config: ResponderConfig, reactor: IReactorTime | None = None
) -> "ResponderService | WorkerPoolService":
    """
    Build the service that serves C{config}: a L{ResponderService} with one
    listening child per endpoint, or with C{config.workers} above 1, a
    L{responder.workers.WorkerPoolService} around it.  The twistd plugin
    and the tac file both call this, and so can an application embedding
    responder.

    Both have C{addresses()}, the addresses listened on, and C{config}.
    """
    if reactor is None:
        reactor = installedReactor()
    factory = ResponderFactory(config, clock=reactor)
    pooled = config.workers > 1
    server = ResponderService(factory, pooled=pooled)
    for description in config.endpoints:
        endpoint = serverEndpoint(reactor, description)
        service = EndpointService(description, endpoint, factory)
        service.setServiceParent(server)  # type: ignore[no-untyped-call]
    top: ResponderService | WorkerPoolService = server
    if pooled:
        top = pool = _pool(server, reactor)
    if config.metrics is not None:
        from .metrics import factorySource
        from .metrics.collector import ResponderCollector
        from .metrics.serving import makeMetricsService

        collector = ResponderCollector(
            pool.statsSource() if pooled else factorySource(factory)
        )
        metrics = makeMetricsService(
            config.metrics,
            collector,
            reactor,
            timeout=config.timeout,
            closeAtOnce=not config.stockTransport,
        )
        metrics.setServiceParent(top)  # type: ignore[no-untyped-call]
    if config.agent is not None:
        from .agent import agentService

        agentService(config.agent, server, reactor, config.agentDrain)
    if config.admin is not None:
        from .admin import makeAdminService

        admin = makeAdminService(
            config.admin,
            factory,
            config.adminToken,
            reactor,
            workers=pool.control() if pooled else None,
        )
        admin.setServiceParent(top)  # type: ignore[no-untyped-call]
    return top


def _pool(server: ResponderService, reactor: IReactorTime) -> "WorkerPoolService":
    """
    The pool of workers around C{server}, imported only when asked for.
    """
    from .workers import WorkerPoolService

    return WorkerPoolService(server, reactor)
