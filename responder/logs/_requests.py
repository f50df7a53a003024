"""
Where request lines go.

Logging each request through C{twisted.logger}'s stock text observer costs
about as much CPU as everything else Twisted does for a short connection
(measured: see C{benchmarks/RESULTS.md}): the event dictionary, the
publisher's fan-out, C{string.Formatter} parsing the format on every event,
C{strftime} on every event, and a write and flush per line.  So there are
two destinations:

  - L{LoggerRequestLog}: one C{twisted.logger} event per request, with
    C{peer} and C{request} fields, namespace C{responder}.  Embedders get
    this by default: their observers, filters and formats all apply.

  - L{StreamRequestLog}: the same line, in the same format that twistd's
    text log uses (or as a JSON line), written straight to a file
    descriptor: the time stamp is formatted once a second, the line with
    one f-string, and the lines of one reactor iteration go out in one
    write, before that iteration's answers, through a L{LogWriter} that
    never blocks.  C{twistd -n responder} uses it when its log is stdout,
    which is where the stock observer would have written the line anyway.
"""

import time
from collections.abc import Callable
from typing import Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger, formatTime

from ._json import jsonLine

ANSWERED = "answered"


class RequestLog(Protocol):
    """
    Something that records requests.
    """

    def __call__(self, peer: str, request: str, outcome: str = ANSWERED) -> None:
        """
        Record that C{peer} sent C{request} (both already safe to print)
        and what came of it: C{answered}, or the fault a rule applied.
        """

    def flush(self) -> None:
        """
        Write out anything buffered.
        """

    def after(self, action: Callable[..., object], *args: object) -> None:
        """
        Call C{action(*args)} once the requests recorded so far are written:
        the answers wait for their lines.
        """


class LoggerRequestLog:
    """
    Emit each request as a C{twisted.logger} event with the fields
    C{peer}, C{request} and C{outcome}.
    """

    def __init__(self, log: Logger) -> None:
        self.log = log

    def __call__(self, peer: str, request: str, outcome: str = ANSWERED) -> None:
        self.log.info(
            "{peer} {request}"
            if outcome == ANSWERED
            else "{peer} ({outcome}) {request}",
            peer=peer,
            request=request,
            outcome=outcome,
        )

    def flush(self) -> None:
        """
        Events are not buffered here.
        """

    def after(self, action: Callable[..., object], *args: object) -> None:
        """
        Events are written as they are emitted: go on at once.
        """
        action(*args)


class LineSink(Protocol):
    """
    Where L{StreamRequestLog} hands its lines: a L{LogWriter}, or anything
    that takes whole lines the same way (a test's list).
    """

    def write(self, text: str, lines: int) -> None:
        """
        Take C{text}, which is C{lines} whole lines.
        """


class StreamRequestLog:
    """
    Write request lines straight to a L{LineSink}, in twistd's classic text
    format or as JSON lines, so that every answered request's line has
    reached the operating system before its answer leaves.

    Lines are gathered over one reactor iteration and handed over in one
    write at its end (a C{callLater(0)}, which runs before the reactor next
    polls); the answers of that iteration wait for that write: whatever a
    protocol does to its transport meanwhile (write, close, abort) is held
    in L{after} and done, in order, right after it.  Since a transport only
    sends on the reactor's next poll, no answer is delayed by more than the
    write, and a client that has its answer can read its line; a server
    killed with SIGKILL loses no answered request's line.  When the log
    cannot take a line without blocking, the L{LogWriter} keeps or drops
    it and the answers go on (see L{LogWriter}).

    @ivar namespace: the namespace request lines are shown with, as
        twistd shows an event's namespace.
    """

    namespace = "responder"

    def __init__(self, sink: LineSink, clock: IReactorTime, json: bool = False) -> None:
        self._sink = sink
        self._clock = clock
        self._json = json
        self._lines: list[str] = []
        self._after: list[tuple[Callable[..., object], tuple[object, ...]]] = []
        self._flushing: IDelayedCall | None = None
        self._second = -1
        self._prefix = ""

    def __call__(self, peer: str, request: str, outcome: str = ANSWERED) -> None:
        now = time.time()
        if outcome == ANSWERED:
            message = f"{peer} {request}"
        else:
            message = f"{peer} ({outcome}) {request}"
        if self._json:
            line = jsonLine(
                now,
                "info",
                self.namespace,
                message,
                peer=peer,
                request=request,
                outcome=outcome,
            )
        else:
            second = int(now)
            if second != self._second:
                self._second = second
                self._prefix = f"{formatTime(now)} [{self.namespace}#info] "
            line = f"{self._prefix}{message}\n"
        self._lines.append(line)
        if self._flushing is None:
            self._flushing = self._clock.callLater(0, self.flush)

    def after(self, action: Callable[..., object], *args: object) -> None:
        """
        Call C{action(*args)} once the lines logged so far have been handed
        to the operating system: at once if none are waiting.
        """
        if self._lines:
            self._after.append((action, args))
        else:
            action(*args)

    def flush(self) -> None:
        """
        Hand the lines gathered so far over in one write, then do what
        waited for them.
        """
        if self._flushing is not None:
            if self._flushing.active():
                self._flushing.cancel()
            self._flushing = None
        lines, self._lines = self._lines, []
        after, self._after = self._after, []
        if lines:
            self._sink.write("".join(lines), len(lines))
        for action, args in after:
            action(*args)
