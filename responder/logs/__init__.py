"""
Logs: where request lines go, and the JSON line format.

L{StreamRequestLog} writes request lines straight to a file descriptor
(through a L{LogWriter}, which never blocks), in twistd's text format or
as JSON lines, each before its answer leaves; L{LoggerRequestLog} emits them as
C{twisted.logger} events; L{JSONLogObserver} writes every event as a JSON
line.  One function, L{jsonLine}, formats a JSON line for all of them.
"""

from ._json import FIELDS, JSONLogObserver, jsonLine
from ._requests import (
    ANSWERED,
    LineSink,
    LoggerRequestLog,
    RequestLog,
    StreamRequestLog,
)
from ._stdout import stdoutJSONObserver, stdoutTextObserver, stdoutWriter
from ._writer import LogWriter

__all__ = [
    "ANSWERED",
    "FIELDS",
    "JSONLogObserver",
    "LineSink",
    "LogWriter",
    "LoggerRequestLog",
    "RequestLog",
    "StreamRequestLog",
    "jsonLine",
    "stdoutJSONObserver",
    "stdoutTextObserver",
    "stdoutWriter",
]
