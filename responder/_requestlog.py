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
    text log uses, written straight to a stream: the time stamp is formatted
    once a second, the line with one f-string, and the lines of one reactor
    iteration go out in one write.  C{twistd -n responder} uses it when its
    log is stdout as text, which is where the stock observer would have
    written the line anyway.
"""

import time
from typing import Protocol, TextIO

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger, formatTime


class RequestLog(Protocol):
    """
    Something that records requests.
    """

    def __call__(self, peer: str, request: str) -> None:
        """
        Record that C{peer} sent C{request} (both already safe to print).
        """

    def flush(self) -> None:
        """
        Write out anything buffered.
        """


class LoggerRequestLog:
    """
    Emit each request as a C{twisted.logger} event.
    """

    def __init__(self, log: Logger) -> None:
        self.log = log

    def __call__(self, peer: str, request: str) -> None:
        self.log.info("{peer} {request}", peer=peer, request=request)

    def flush(self) -> None:
        """
        Events are not buffered here.
        """


class StreamRequestLog:
    """
    Write request lines in twistd's classic text format to a stream,
    batched per reactor iteration.

    @ivar system: what stands in the brackets after the time stamp, as
        twistd shows an event's namespace and level.
    """

    system = "responder#info"

    def __init__(self, stream: TextIO, clock: IReactorTime) -> None:
        self._stream = stream
        self._clock = clock
        self._lines: list[str] = []
        self._flushing: IDelayedCall | None = None
        self._second = -1
        self._prefix = ""

    def __call__(self, peer: str, request: str) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = f"{formatTime(now)} [{self.system}] "
        self._lines.append(f"{self._prefix}{peer} {request}\n")
        if self._flushing is None:
            self._flushing = self._clock.callLater(0, self.flush)

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
