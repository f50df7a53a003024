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
    text log uses (or as a JSON line), written straight to a stream: the
    time stamp is formatted once a second, the line with one f-string, and
    the lines of up to 50 ms go out in one write.
    C{twistd -n responder} uses it when its log is stdout, which is where
    the stock observer would have written the line anyway.
"""

import time
from typing import Protocol, TextIO

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


def _message(peer: str, request: str, outcome: str) -> str:
    if outcome == ANSWERED:
        return f"{peer} {request}"
    return f"{peer} ({outcome}) {request}"


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


class StreamRequestLog:
    """
    Write request lines straight to a stream, in batches: in twistd's
    classic text format, or as JSON lines.

    @ivar namespace: the namespace request lines are shown with, as
        twistd shows an event's namespace.
    """

    namespace = "responder"

    #: Lines wait at most this many seconds, or until this many have
    #: gathered, to go out in one write: a write per reactor iteration cost
    #: several microseconds per request on a busy server.
    flushDelay = 0.05
    batchLines = 512

    def __init__(self, stream: TextIO, clock: IReactorTime, json: bool = False) -> None:
        self._stream = stream
        self._clock = clock
        self._json = json
        self._lines: list[str] = []
        self._flushing: IDelayedCall | None = None
        self._second = -1
        self._prefix = ""

    def __call__(self, peer: str, request: str, outcome: str = ANSWERED) -> None:
        now = time.time()
        message = _message(peer, request, outcome)
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
        lines = self._lines
        lines.append(line)
        if len(lines) >= self.batchLines:
            self.flush()
        elif self._flushing is None:
            self._flushing = self._clock.callLater(self.flushDelay, self.flush)

    def flush(self) -> None:
        """
        Write out the lines collected so far, in one write.
        """
        if self._flushing is not None:
            if self._flushing.active():
                self._flushing.cancel()
            self._flushing = None
        if self._lines:
            self._stream.write("".join(self._lines))
            self._lines.clear()
            self._stream.flush()
