"""
JSON log lines: one object per line, for C{jq} and log shippers.

Every line has C{time} (ISO 8601 with milliseconds), C{level},
C{namespace} and C{message} (the text the text log would show); request
lines add C{peer}, C{request} (escaped as in the text log) and C{outcome}.
One function formats a line, so the observer that renders every
C{twisted.logger} event and the fast request writer agree to the key.
"""

import json
from datetime import datetime
from typing import Any, Protocol

from twisted.logger import ILogObserver, LogEvent, formatEvent
from zope.interface import implementer

#: Event fields that become keys of their own in a JSON line.
FIELDS = ("peer", "request", "outcome", "reason", "count")


def jsonLine(
    when: float, level: str, namespace: str, message: str, **fields: Any
) -> str:
    """
    One JSON log line, newline included.
    """
    stamp = datetime.fromtimestamp(when).astimezone().isoformat(timespec="milliseconds")
    record = {
        "time": stamp,
        "level": level,
        "namespace": namespace,
        "message": message,
        **fields,
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


class TextStream(Protocol):
    """
    Where an observer writes: a text file, or a L{WriterFile}.
    """

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


@implementer(ILogObserver)
class JSONLogObserver:
    """
    A C{twisted.logger} observer that writes each event as a JSON line.
    """

    def __init__(self, stream: TextStream) -> None:
        self.stream = stream

    def __call__(self, event: LogEvent) -> None:
        level = event.get("log_level")
        fields = {key: event[key] for key in FIELDS if key in event}
        failure = event.get("log_failure")
        if failure is not None:
            fields["traceback"] = failure.getTraceback()
        self.stream.write(
            jsonLine(
                event.get("log_time", 0.0),
                level.name if level is not None else "info",
                event.get("log_namespace", "-"),
                formatEvent(event),
                **fields,
            )
        )
        self.stream.flush()
