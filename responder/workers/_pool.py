"""
C{--workers N}: several processes serving the same listening sockets.

The parent, twistd's own process, listens on every endpoint exactly as one
process would (it wraps that process's L{ResponderService}), so C{--port
0}, C{--uid}, C{systemd:} and the "listening on" lines work as before; but
it never accepts.  It starts N worker processes
(L{responder.workers.child}), each of which inherits the listening sockets,
adopts them with C{adoptStreamPort} and accepts from them.  For a TCP
endpoint each worker has, by default, a socket of its own: the parent
listens on N sockets bound with C{SO_REUSEPORT} (see
L{responder.workers._reuseport}); otherwise (C{--worker-sockets shared},
C{unix:}, C{systemd:}) every worker accepts from the one socket.
C{docs/workers.md} says why.

The parent restarts a worker that dies.  Stopping it stops its own
listening first, then sends each worker SIGTERM: a worker stops accepting,
lets its open connections finish for up to the drain timeout and exits;
one that has not exited a few seconds after that is killed.
"""

import os
import socket
import sys
from typing import cast

from twisted.application.service import MultiService
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import (
    IAddress,
    IReactorCore,
    IReactorFDSet,
    IReactorTime,
    IReadDescriptor,
)
from twisted.logger import Logger

from ..config import ResponderConfig
from ..core import (
    EndpointService,
    HangupHandler,
    ResponderFactory,
    ResponderService,
    serverEndpoint,
)
from ..metrics import SharedStatsTable, StatsSource
from ._channel import PoolControl
from ._reuseport import SPREADS, PortGroup
from ._spec import FIRST_SOCKET_FD, SharedSocket, perWorker, workerDescription
from ._supervisor import WorkerSlot

_FAMILIES = {
    IPv4Address: socket.AF_INET,
    IPv6Address: socket.AF_INET6,
    UNIXAddress: socket.AF_UNIX,
}


class WorkerPoolService(MultiService):
    """
    The parent of C{--workers N}: it wraps the L{ResponderService} of one
    process, whose endpoints listen here, while N worker processes accept
    and serve.

    The server's own factory never sees a connection; each worker counts
    and logs its own.  SIGHUP is always handled: dying of it, the parent
    would leave its workers to stop on their own, undrained, and nobody
    would restart them.

    @ivar server: the wrapped server, which listens.
    @ivar workers: one L{WorkerSlot} per worker, while running.
    @ivar sockets: the listening sockets as workers find them.
    @ivar childFDs: by worker number, the parent's listening sockets (and
        shared counters) by the descriptor that worker finds each at.
    @ivar groups: for each endpoint whose workers have sockets of their
        own, the stand-in reactor that makes them.
    """

    log = Logger(namespace="responder")

    def __init__(self, server: ResponderService, reactor: IReactorTime) -> None:
        """
        @param server: a server made not to handle SIGHUP itself.
        @raise SystemExit: with a one-line message, for an endpoint whose
            socket workers cannot share; better at once than at start.
        """
        super().__init__()  # type: ignore[no-untyped-call]
        for description in server.config.endpoints:
            try:
                workerDescription(description)
            except ValueError as e:
                raise SystemExit(f"responder: {e}") from None
        self.server = server
        server.setServiceParent(self)  # type: ignore[no-untyped-call]
        self.reactor = reactor
        self._hangup = HangupHandler(reactor, self.reload)
        self.workers: list[WorkerSlot] = []
        self.sockets: tuple[SharedSocket, ...] = ()
        self.groups: dict[EndpointService, PortGroup] = {}
        if server.config.workerSockets == "reuseport" and SPREADS:
            for endpoint in self._endpoints():
                if perWorker(endpoint.description):
                    # Listen through a stand-in that makes one socket per
                    # worker, so that port 0, interface=, tcp6: and the
                    # "listening on" line work as in one process.
                    group = PortGroup(reactor, server.config.workers)
                    endpoint.endpoint = serverEndpoint(group, endpoint.description)
                    self.groups[endpoint] = group
        self.childFDs: dict[int, dict[int, int]] = {}
        # Each worker counts in its slot of a table of shared memory; the
        # metrics endpoint adds them up at each scrape.
        self.statsTable: SharedStatsTable | None = None
        self.statsFD: int | None = None
        #: Why the pool gave up, if it did.
        self.failed: str | None = None
        if server.config.metrics is not None:
            self.statsTable = SharedStatsTable(server.config.workers)

    @property
    def config(self) -> ResponderConfig:
        return self.server.config

    @property
    def factory(self) -> ResponderFactory:
        """
        The wrapped server's factory: its configuration, its rules; it
        never sees a connection, the workers' factories do.
        """
        return self.server.factory

    def addresses(self) -> list[IAddress]:
        """
        The addresses the wrapped server listens on (see
        L{ResponderService.addresses}).
        """
        return self.server.addresses()

    def _endpoints(self) -> list[EndpointService]:
        """
        The wrapped server's endpoints, whose sockets the workers serve.
        """
        return [
            child
            for child in self.server
            if isinstance(child, EndpointService) and not child.purpose
        ]

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self._hangup.install()
        numbers = range(1, self.config.workers + 1)
        shared = []
        self.childFDs = {number: {} for number in numbers}
        for fd, endpoint in enumerate(self._endpoints(), FIRST_SOCKET_FD):
            assert endpoint.port is not None, "shareable endpoints listen at once"
            group = self.groups.get(endpoint)
            ports = [endpoint.port] if group is None else group.ports
            for port in ports:
                # Keep the socket open for the workers to come (a worker
                # restarted gets the same one), but leave every connection
                # to them.
                cast(IReactorFDSet, self.reactor).removeReader(
                    cast(IReadDescriptor, port)
                )
            # One socket for all workers, or one each, in worker order.
            fds = [cast(IReadDescriptor, port).fileno() for port in ports]
            for number in numbers:
                self.childFDs[number][fd] = fds[(number - 1) % len(fds)]
            family = _FAMILIES[type(endpoint.port.getHost())]
            shared.append(
                SharedSocket(fd, family, workerDescription(endpoint.description))
            )
        self.sockets = tuple(shared)
        if self.statsTable is not None:
            self.statsFD = FIRST_SOCKET_FD + len(shared)
            for descriptors in self.childFDs.values():
                descriptors[self.statsFD] = self.statsTable.fileno()
        self.workers = [WorkerSlot(self, n) for n in numbers]
        for worker in self.workers:
            worker.start()

    def statsSource(self) -> StatsSource:
        """
        The workers' counters, from the memory they count in: those of
        workers that have exited still count, their open connections do
        not.
        """
        assert self.statsTable is not None
        return self.statsTable.source(
            lambda: [slot.process is not None for slot in self.workers]
        )

    def control(self) -> PoolControl:
        """
        What the control API asks of the workers: their journals, and the
        rules in force in each.
        """
        return PoolControl(
            self.factory,
            lambda: [slot.channel for slot in self.workers if slot.channel is not None],
        )

    def reload(self) -> None:
        """
        Have every worker reload what it can (its rules file): they serve,
        not this process.  Each logs the outcome.
        """
        for worker in self.workers:
            worker.hangup()

    def fail(self, reason: str) -> None:
        """
        Give up: a worker keeps failing before it is ready (see
        L{WorkerSlot}), so the pool cannot serve as configured.  Say why in
        one line, stop the other workers as for SIGTERM, and exit with
        status 1, so that a supervisor (systemd, Kubernetes) sees a failure,
        not a clean stop.  twistd has no exit status of its own to set: the
        exit happens once the reactor has stopped the services.
        """
        if self.failed is not None:
            return
        self.failed = reason
        self.log.critical("responder: {reason}", reason=reason)
        core = cast(IReactorCore, self.reactor)
        core.addSystemEventTrigger("after", "shutdown", _exitFailed)
        core.stop()

    def stopService(self) -> Deferred[None]:
        self._hangup.uninstall()
        return Deferred.fromCoroutine(self._stopWorkers())

    async def _stopWorkers(self) -> None:
        # Close this process's copies of the sockets first: once the workers
        # have stopped accepting too, a new connection is refused at once
        # instead of waiting in a queue that nobody accepts from.
        await super().stopService()  # type: ignore[no-untyped-call]
        await gatherResults([group.stopOthers() for group in self.groups.values()])
        await gatherResults([worker.stop() for worker in self.workers])
        if self.statsTable is not None:
            self.statsTable.close()


def _exitFailed() -> None:
    """
    Exit with status 1 once the reactor has stopped, flushing what was
    written.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)
