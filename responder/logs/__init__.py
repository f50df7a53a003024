"""
Logs: where request lines go, and the JSON line format.

L{StreamRequestLog} writes request lines straight to a stream, in
twistd's text format or as JSON lines; L{LoggerRequestLog} emits them as
C{twisted.logger} events; L{JSONLogObserver} writes every event as a JSON
line.  One function, L{jsonLine}, formats a JSON line for all of them.
"""

from ._json import FIELDS, JSONLogObserver, jsonLine, stdoutJSONObserver
from ._requests import ANSWERED, LoggerRequestLog, RequestLog, StreamRequestLog

__all__ = [
    "ANSWERED",
    "FIELDS",
    "JSONLogObserver",
    "LoggerRequestLog",
    "RequestLog",
    "StreamRequestLog",
    "jsonLine",
    "stdoutJSONObserver",
]
