"""
Writing log lines to a file descriptor without ever blocking the reactor.

A log is an edge the server does not control: standard output may be a
pipe whose reader is slow or gone, a full disk, a closed terminal.  A
blocking C{write} to a pipe nobody reads stops the whole reactor, and a
write that raises inside the request path stops every answer.  So
L{LogWriter} hands text to the operating system only when it takes it
without blocking, keeps what it cannot take in a bounded backlog, and
drops (and counts) what does not fit, as HAProxy does with its logs: the
server goes on answering whatever happens to its log, says so on standard
error at most every few seconds, and recovers by itself when the log can
be written again.
"""

import os
import select
import stat
import sys
from collections import deque
from collections.abc import Callable

from twisted.internet.interfaces import IDelayedCall, IReactorTime


def _describe(error: OSError) -> str:
    return error.strerror or type(error).__name__


class LogWriter:
    """
    Write whole lines to a descriptor, never blocking.

    Regular files take every write at once (a full disk fails, it does not
    block), so they are written directly.  Anything else (a pipe, a
    terminal, a socket) is written only while C{poll} says it is writable,
    at most C{PIPE_BUF} bytes at a time and cut at line ends, which a pipe
    takes whole: lines from several processes sharing one pipe never mix
    (a single line longer than C{PIPE_BUF} may).

    @ivar backlogLimit: bytes kept while the log cannot take them.
    @ivar written: lines handed to the operating system.
    @ivar dropped: lines given up: the backlog was full.
    @ivar onDropped: told how many lines were just dropped, to count them
        where metrics read them.
    @ivar reportInterval: seconds between two reports of a failing log.
    """

    backlogLimit = 1024 * 1024
    retryDelay = 0.05
    reportInterval = 10.0

    def __init__(
        self,
        fd: int,
        clock: IReactorTime,
        onDropped: Callable[[int], None] = lambda count: None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        """
        @param report: where to say that the log fails or has recovered;
            standard error by default.
        """
        self._fd = fd
        self._clock = clock
        self.onDropped = onDropped
        self._report = _stderr if report is None else report
        self._regular = stat.S_ISREG(os.fstat(fd).st_mode)
        self._poll = select.poll()
        self._poll.register(fd, select.POLLOUT)
        # Chunks of whole lines, and how many lines each holds; the first
        # may have been written in part.
        self._backlog: deque[tuple[bytes, int]] = deque()
        self._backlogBytes = 0
        self._retry: IDelayedCall | None = None
        self.written = 0
        self.dropped = 0
        self._failure: str | None = None
        self._droppedAtReport = 0
        self._lastReport: float | None = None

    def write(self, text: str, lines: int) -> None:
        """
        Write C{text}, C{lines} whole lines, now if the log takes it without
        blocking, later if it fits in the backlog, and otherwise not at all.
        """
        data = text.encode("utf-8", "backslashreplace")
        if self._backlog:
            self._keep(data, lines)
            self._drain()
            return
        try:
            sent = self._send(data)
        except OSError as e:
            self._failed(e)
            sent = 0
        if sent == len(data):
            self.written += lines
            self._recovered()
        else:
            self._keep(data[sent:], lines)
            self._scheduleRetry()

    @property
    def backlogBytes(self) -> int:
        """
        Bytes waiting for the log to take them.
        """
        return self._backlogBytes

    def _keep(self, data: bytes, lines: int) -> None:
        if self._backlogBytes + len(data) > self.backlogLimit:
            self.dropped += lines
            self.onDropped(lines)
            self._reportLater()
            return
        self._backlog.append((data, lines))
        self._backlogBytes += len(data)

    def _drain(self) -> None:
        """
        Write as much of the backlog as the log takes now.
        """
        self._retry = None
        while self._backlog:
            data, lines = self._backlog[0]
            try:
                sent = self._send(data)
            except OSError as e:
                self._failed(e)
                break
            self._backlogBytes -= sent
            if sent < len(data):
                self._backlog[0] = (data[sent:], lines)
                break
            self._backlog.popleft()
            self.written += lines
        if self._backlog:
            self._scheduleRetry()
        else:
            self._recovered()

    def _scheduleRetry(self) -> None:
        if self._retry is None:
            self._retry = self._clock.callLater(self.retryDelay, self._drain)

    def _send(self, data: bytes) -> int:
        """
        Write what the log takes of C{data} without blocking.

        @return: how many bytes were written.
        @raise OSError: if the log fails (a full disk, a closed pipe).
        """
        if self._regular:
            return os.write(self._fd, data)
        sent = 0
        while sent < len(data) and self._poll.poll(0):
            end = len(data)
            if end - sent > select.PIPE_BUF:
                # The last line end that fits; failing that, a piece of the
                # one long line.
                cut = data.rfind(b"\n", sent, sent + select.PIPE_BUF)
                end = cut + 1 if cut >= 0 else sent + select.PIPE_BUF
            sent += os.write(self._fd, data[sent:end])
        return sent

    def _failed(self, error: OSError) -> None:
        """
        The log failed: report it now if this is news, else later.
        """
        first = self._failure is None
        self._failure = _describe(error)
        if first:
            self._say(f"cannot write the request log: {self._failure}")
        else:
            self._reportLater()

    def _reportLater(self) -> None:
        """
        Say how many lines were dropped, at most every C{reportInterval}.
        """
        now = self._clock.seconds()
        last = self._lastReport
        if last is None or not 0 <= now - last < self.reportInterval:
            reason = self._failure or "it does not keep up"
            self._say(f"cannot write the request log ({reason})")

    def _recovered(self) -> None:
        if self._failure is None and self.dropped == self._droppedAtReport:
            return
        lost = self.dropped - self._droppedAtReport
        self._failure = None
        self._droppedAtReport = self.dropped
        self._lastReport = None
        self._report(
            f"responder: the request log is written again; {lost} lines were dropped"
        )

    def _say(self, what: str) -> None:
        self._lastReport = self._clock.seconds()
        lost = self.dropped - self._droppedAtReport
        self._report(
            f"responder: {what}; answering goes on, {lost} lines dropped so far"
            f" (up to {self.backlogLimit:,} bytes wait)"
        )


def _stderr(line: str) -> None:
    """
    Write one line to standard error, never blocking and never failing:
    it is the channel of last resort.
    """
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
        if select.select([], [fd], [], 0)[1]:
            os.write(fd, (line + "\n").encode("utf-8", "backslashreplace"))
    except (OSError, ValueError):
        pass
