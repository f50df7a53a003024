"""
A worker process of C{--workers N}, started by L{responder._workers}, never
by hand: C{python -m responder._worker}, with its L{WorkerSpec} as JSON on
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
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLServerConnectionCreator,
    IProtocolFactory,
    IReactorCore,
    IReactorFDSet,
    IReactorSocket,
    IReactorThreads,
    IReactorTime,
    IReadDescriptor,
)
from twisted.internet.posixbase import PosixReactorBase
from twisted.internet.protocol import ServerFactory
from twisted.internet.task import LoopingCall
from twisted.logger import (
    ILogObserver,
    Logger,
    globalLogBeginner,
    jsonFileLogObserver,
    textFileLogObserver,
)
from twisted.python.failure import Failure

from ._address import describeAddress
from ._config import ResponderConfig
from ._factory import ResponderFactory
from ._jsonlog import JSONLogObserver
from ._metrics import StatsSnapshotWriter
from ._requestlog import StreamRequestLog
from ._workers import SharedSocket, WorkerSpec


class AdoptedSocket:
    """
    A listening socket inherited from the parent, served by this worker.

    It stands in for the reactor while the worker parses the socket's
    endpoint description (see L{responder._workers.workerDescription}):
    whichever listen method the endpoint calls adopts the inherited socket
    instead of opening one, so C{ssl:} and C{haproxy:} wrap the factory
    exactly as they do in one process.

    @ivar port: the listening port, once adopted.
    """

    def __init__(self, reactor: IReactorTime, shared: SharedSocket) -> None:
        self.reactor = reactor
        self.shared = shared
        self.port: IListeningPort | None = None
        self._factory: IProtocolFactory | None = None

    def listen(self, factory: IProtocolFactory) -> IListeningPort:
        """
        Serve the socket with C{factory}, wrapped as its endpoint wraps it.

        @raise SystemExit: with a one-line message, if it cannot be adopted.
        """
        failures: list[Failure] = []
        endpoint = serverFromString(self, self.shared.description)
        endpoint.listen(factory).addErrback(failures.append)
        if failures:
            reason = failures[0].getErrorMessage()
            raise SystemExit(
                f"responder: cannot serve {self.shared.description}: {reason}"
            )
        assert self.port is not None, "adopting is synchronous"
        return self.port

    def listenTCP(
        self,
        port: int,
        factory: IProtocolFactory,
        backlog: int = 50,
        interface: str = "",
    ) -> IListeningPort:
        return self._adopt(factory)

    def listenUNIX(
        self,
        address: str,
        factory: IProtocolFactory,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: bool = False,
    ) -> IListeningPort:
        return self._adopt(factory)

    def listenSSL(
        self,
        port: int,
        factory: IProtocolFactory,
        contextFactory: IOpenSSLServerConnectionCreator,
        backlog: int = 50,
        interface: str = "",
    ) -> IListeningPort:
        # Imported here: TLS needs pyOpenSSL, an optional dependency.
        from twisted.protocols.tls import TLSMemoryBIOFactory

        return self._adopt(TLSMemoryBIOFactory(contextFactory, False, factory))

    def _adopt(self, factory: IProtocolFactory) -> IListeningPort:
        shared = self.shared
        self.port = cast(IReactorSocket, self.reactor).adoptStreamPort(
            shared.fd,
            socket.AddressFamily(shared.family),
            # Typed narrower than it is: any protocol factory will do.
            cast(ServerFactory, factory),
        )
        # adoptStreamPort works on a copy of the descriptor.
        os.close(shared.fd)
        self._factory = factory
        return self.port

    def stopAccepting(self) -> Deferred[None]:
        """
        Stop accepting connections on the socket, and close it if that
        leaves the other processes serving it alone.
        """
        assert self.port is not None and self._factory is not None
        if self.shared.family == socket.AF_UNIX:
            # stopListening would also remove the socket's path, which the
            # parent owns and other workers may still be serving.  Once the
            # parent has removed it no client can reach the socket anyway.
            reader = cast(IReadDescriptor, self.port)
            cast(IReactorFDSet, self.reactor).removeReader(reader)
            self._factory.doStop()
            return succeed(None)
        stopped = self.port.stopListening()
        return succeed(None) if stopped is None else stopped


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
