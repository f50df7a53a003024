"""
A worker process of C{--workers N}, started by the pool
(L{responder.workers.WorkerPoolService}), never by hand:
C{python -m responder.workers.child}, with its L{WorkerSpec} as JSON on
standard input.

It serves the listening sockets it inherited with a reactor and factory of
its own.  On SIGTERM it stops accepting, lets its open connections finish
for up to the drain timeout, and exits.
"""

import os
import signal
import socket
import sys
from typing import cast

from twisted.application.service import Service
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import (
    IReactorCore,
    IReactorSocket,
    IReactorThreads,
    IReactorTime,
)
from twisted.internet.posixbase import PosixReactorBase
from twisted.internet.task import LoopingCall
from twisted.logger import (
    ILogObserver,
    Logger,
    globalLogBeginner,
    jsonFileLogObserver,
)

from ..config import ResponderConfig
from ..core import (
    ResponderFactory,
    describeAddress,
    descriptorBudget,
    useMonotonicClock,
)
from ..logs import StreamRequestLog, stdoutJSONObserver, stdoutTextObserver
from ..metrics import SharedStats, attachStats
from ._adopt import AdoptedSocket
from ._channel import WorkerAnswers, channelFactory
from ._spec import ALIVE, READY, WorkerSpec, controlFD


class WorkerService(Service):
    """
    What a worker runs: its own L{ResponderFactory} on the adopted sockets,
    and the same graceful stop as L{responder.ResponderService}.

    Its log namespace, and so the system field of its request lines, is
    C{responder.wN} for worker N, so that the log says which worker served.

    @ivar factory: the worker's factory; its C{stats} count this worker's
        requests only.
    """

    def __init__(self, spec: WorkerSpec, reactor: IReactorTime) -> None:
        self.spec = spec
        self.reactor = reactor
        namespace = f"responder.w{spec.number}"
        self.log = Logger(namespace=namespace)
        self.stats: SharedStats | None = None
        if spec.statsFD is not None:
            self.stats = attachStats(spec.statsFD, spec.number - 1)
        self.factory = ResponderFactory(
            spec.config, clock=reactor, log=self.log, stats=self.stats
        )
        if isinstance(self.factory.requestLog, StreamRequestLog):
            # Straight to the parent's standard output, which is this
            # process's too: whole lines of at most PIPE_BUF bytes a write,
            # so that the lines of several workers never mix on a pipe.
            self.factory.requestLog.namespace = namespace
        self.sockets = [AdoptedSocket(reactor, shared) for shared in spec.sockets]
        self._watchdog = LoopingCall(self._checkParent)
        self._watchdog.clock = reactor
        self._terminating = False

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        ports = [adopted.listen(self.factory) for adopted in self.sockets]
        budget = descriptorBudget()
        for port in ports:
            self.factory.listeningOn(port, budget)
        if self.spec.config.admin is not None:
            # The parent's control API asks through this channel.
            fd = controlFD(self.spec.sockets)
            cast(IReactorSocket, self.reactor).adoptStreamConnection(
                fd, socket.AF_UNIX, channelFactory(WorkerAnswers(self.factory))
            )
            os.close(fd)
        self._watchdog.start(1.0, now=False)
        # main() handles SIGHUP by now: the parent may send one.  Told
        # before the "ready" line, so that whoever sees that line and then
        # kills this worker finds the parent knew it was ready: the parent
        # reads this pipe to its end before it sees the process end.
        tell(READY)
        self.log.info(
            "worker {number} (pid {pid}) ready: serving {addresses}",
            number=self.spec.number,
            pid=os.getpid(),
            addresses=" ".join(describeAddress(port.getHost()) for port in ports),
        )

    def terminate(self) -> None:
        """
        Stop the reactor, and so this service, however many times asked: a
        supervisor that signals the whole process group and then the parent
        make a worker receive SIGTERM twice.
        """
        if not self._terminating:
            self._terminating = True
            cast(IReactorCore, self.reactor).stop()

    def _checkParent(self) -> None:
        """
        Stop if the parent has gone (killed with SIGKILL, say): nobody would
        restart or stop this worker any more.  Meanwhile, tell the parent's
        metrics how many connections are open.
        """
        if self.stats is not None:
            self.stats.setActive(len(self.factory.connections))
        if os.getppid() != self.spec.parent:
            self.log.warn(
                "worker {number}: the parent process {parent} has gone; stopping",
                number=self.spec.number,
                parent=self.spec.parent,
            )
            self.terminate()

    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        return Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        if self._watchdog.running:
            self._watchdog.stop()
        await gatherResults([adopted.stopAccepting() for adopted in self.sockets])
        await self.factory.drain(self.spec.config.drainTimeout)
        if self.stats is not None:
            self.stats.setActive(0)
        self.log.info(
            "worker {number} stopped after answering {requests} requests",
            number=self.spec.number,
            requests=self.factory.stats.requests,
        )


def beginLogging(config: ResponderConfig) -> None:
    """
    Log where the parent logs.  When request lines go straight to standard
    output, the parent's log is there too, in the format the configuration
    names: log there the same way.  Otherwise standard output is a pipe to
    the parent, which hands each event on to its own observers (a log file,
    syslog): send it the events themselves.
    """
    observer: ILogObserver
    if config.requestLog != "stdout":
        observer = jsonFileLogObserver(sys.stdout)
    elif config.logFormat == "json":
        observer = stdoutJSONObserver()
    else:
        observer = stdoutTextObserver()
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)


def tell(message: bytes) -> None:
    """
    Tell the parent C{message} on standard error (see L{READY}); from the
    reactor, so a blocked reactor says nothing and the parent replaces the
    worker.
    """
    os.write(2, message + b"\n")


def main() -> None:
    spec = WorkerSpec.fromJSON(sys.stdin.buffer.read())
    from twisted.internet import reactor

    useMonotonicClock(reactor)
    beginLogging(spec.config)
    service = WorkerService(spec, cast(IReactorTime, reactor))
    threads = cast(IReactorThreads, reactor)
    # Ctrl-C at a terminal reaches every process in the group; the parent
    # stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Handled from now on, not from when the reactor runs, as the parent
    # may stop the worker as soon as it says it is ready.  The reactor's own
    # handler would also fail on a second SIGTERM.
    signal.signal(
        signal.SIGTERM,
        lambda number, frame: threads.callFromThread(service.terminate),
    )
    # The parent passes on its SIGHUP: reload the rules file, if any.
    signal.signal(
        signal.SIGHUP,
        lambda number, frame: threads.callFromThread(service.factory.reloadRules),
    )
    service.startService()
    heartbeat = LoopingCall(tell, ALIVE)
    heartbeat.clock = cast(IReactorTime, reactor)
    heartbeat.start(spec.heartbeat, now=False)
    core = cast(PosixReactorBase, reactor)
    core.addSystemEventTrigger("before", "shutdown", service.stopService)
    core.run(installSignalHandlers=False)


if __name__ == "__main__":
    main()
