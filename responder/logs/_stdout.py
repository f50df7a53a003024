"""
The process's standard output as a log that never blocks.

One L{LogWriter} on standard output per process, shared by the request
log and by the observers that twistd (or a worker) logs every other event
with: a slow or broken stdout then costs lines, counted and reported, but
never stalls the reactor, and request lines and other lines keep their
order.  It is made on first use, after the reactor has been installed.
"""

import sys
from typing import IO, cast

from twisted.internet.interfaces import IReactorTime
from twisted.logger import (
    FileLogObserver,
    ILogObserver,
    formatEventAsClassicLogText,
)

from ._json import JSONLogObserver
from ._writer import LogWriter

_shared: list[LogWriter] = []


def stdoutWriter() -> LogWriter:
    """
    The L{LogWriter} on this process's standard output.
    """
    if not _shared:
        from twisted.internet import reactor

        stdout = sys.__stdout__
        assert stdout is not None, "no standard output"
        _shared.append(LogWriter(stdout.fileno(), cast(IReactorTime, reactor)))
    return _shared[0]


class WriterFile:
    """
    A text stream in front of a L{LogWriter}, for observers that write
    whole lines (one event, tracebacks included) and flush.
    """

    def __init__(self, writer: LogWriter) -> None:
        self._writer = writer

    def write(self, text: str) -> None:
        self._writer.write(text, text.count("\n"))

    def flush(self) -> None:
        """
        Nothing waits here: what the log does not take now waits in the
        writer's backlog.
        """


def stdoutTextObserver() -> ILogObserver:
    """
    twistd's text log on standard output, through the shared writer: for
    C{twistd --logger}, which calls what it names with no arguments.
    """
    stream = cast(IO[str], WriterFile(stdoutWriter()))  # it has what is used
    return FileLogObserver(stream, formatEventAsClassicLogText)


def stdoutJSONObserver() -> JSONLogObserver:
    """
    JSON log lines on standard output, through the shared writer.
    """
    return JSONLogObserver(WriterFile(stdoutWriter()))
