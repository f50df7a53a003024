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
import select
import signal
import socket
import sys
from typing import TextIO, cast

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
    textFileLogObserver,
)

from ..config import ResponderConfig
from ..core import ResponderFactory, describeAddress
from ..logs import JSONLogObserver, StreamRequestLog
from ..metrics import StatsSnapshotWriter
from ._adopt import AdoptedSocket
from ._channel import WorkerAnswers, channelFactory
from ._spec import WorkerSpec, controlFD


class WorkerService(Service):
    """
    What a worker runs: its own L{ResponderFactory} on the adopted sockets,
    and the same graceful stop as L{responder.ResponderService}.

    Its log namespace, and so the system field of its request lines, is
    C{responder.wN} for worker N, so that the log says which worker served.

    @ivar factory: the worker's factory; its C{stats} count this worker's
        requests only.
    """

    def __init__(self, spec: WorkerSpec, reactor: IReactorTime, output: TextIO) -> None:
        """
        @param output: where request lines go when they go straight to
            standard output.
        """
        self.spec = spec
        self.reactor = reactor
        namespace = f"responder.w{spec.number}"
        self.log = Logger(namespace=namespace)
        self.factory = ResponderFactory(spec.config, clock=reactor, log=self.log)
        if isinstance(self.factory.requestLog, StreamRequestLog):
            requestLog = StreamRequestLog(
                output, reactor, json=spec.config.logFormat == "json"
            )
            requestLog.namespace = namespace
            self.factory.requestLog = requestLog
        self.sockets = [AdoptedSocket(reactor, shared) for shared in spec.sockets]
        self._snapshots: StatsSnapshotWriter | None = None
        if spec.metricsDirectory is not None:
            self._snapshots = StatsSnapshotWriter(
                spec.metricsDirectory, self.factory, reactor
            )
        self._watchdog = LoopingCall(self._checkParent)
        self._watchdog.clock = reactor
        self._terminating = False

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        ports = [adopted.listen(self.factory) for adopted in self.sockets]
        if self.spec.config.admin is not None:
            # The parent's control API asks through this channel.
            fd = controlFD(self.spec.sockets)
            cast(IReactorSocket, self.reactor).adoptStreamConnection(
                fd, socket.AF_UNIX, channelFactory(WorkerAnswers(self.factory))
            )
            os.close(fd)
        if self._snapshots is not None:
            self._snapshots.startService()
        self._watchdog.start(1.0, now=False)
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
        restart or stop this worker any more.
        """
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
        if self._snapshots is not None:
            # The last counts, with no connection open any more.
            await self._snapshots.stopService()
        self.log.info(
            "worker {number} stopped after answering {requests} requests",
            number=self.spec.number,
            requests=self.factory.stats.requests,
        )


class WholeLines:
    """
    A text stream onto a descriptor shared with other processes, which
    writes whole lines only: text written at once goes out in pieces of
    whole lines, each at most C{PIPE_BUF} bytes, the most a pipe takes in
    one piece; so on a pipe, the lines of several workers never mix.  (A
    single line longer than that goes out whole but may be split.)
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "backslashreplace")
        while data:
            if len(data) <= select.PIPE_BUF:
                cut = len(data)
            else:
                # The last line end that fits; failing that, the first line.
                cut = data.rfind(b"\n", 0, select.PIPE_BUF) + 1
                cut = cut or data.find(b"\n") + 1 or len(data)
            data = data[os.write(self._fd, data[:cut]) :]
        return len(text)

    def flush(self) -> None:
        """
        Nothing is buffered.
        """


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
        observer = JSONLogObserver(sys.stdout)
    else:
        observer = textFileLogObserver(sys.stdout)
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)


def main() -> None:
    spec = WorkerSpec.fromJSON(sys.stdin.buffer.read())
    from twisted.internet import reactor

    beginLogging(spec.config)
    output = cast(TextIO, WholeLines(sys.stdout.fileno()))
    service = WorkerService(spec, cast(IReactorTime, reactor), output)
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
    core = cast(PosixReactorBase, reactor)
    core.addSystemEventTrigger("before", "shutdown", service.stopService)
    core.run(installSignalHandlers=False)


if __name__ == "__main__":
    main()
