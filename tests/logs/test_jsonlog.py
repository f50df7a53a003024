"""
JSON log lines: the observer for every event, and request lines written
straight to stdout, agree on their keys.
"""

import io
import json

from twisted.internet.task import Clock
from twisted.logger import LogLevel, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from responder import JSONLogObserver
from responder.logs import LoggerRequestLog, StreamRequestLog

from ..support import Harness


class JSONObserverTests(SynchronousTestCase):
    def test_event(self) -> None:
        stream = io.StringIO()
        JSONLogObserver(stream)(
            {
                "log_format": "{peer} {request}",
                "log_level": LogLevel.info,
                "log_namespace": "responder",
                "log_time": 1_700_000_000.25,
                "peer": "127.0.0.1:5",
                "request": "a\\nb",
                "outcome": "answered",
                "other": object(),
            }
        )
        [line] = stream.getvalue().splitlines()
        record = json.loads(line)
        self.assertEqual(
            {key: value for key, value in record.items() if key != "time"},
            {
                "level": "info",
                "namespace": "responder",
                "message": "127.0.0.1:5 a\\nb",
                "peer": "127.0.0.1:5",
                "request": "a\\nb",
                "outcome": "answered",
            },
        )
        self.assertRegex(
            record["time"], r"^2023-11-1\dT\d\d:\d\d:20\.250[+-]\d\d:\d\d$"
        )

    def test_failure(self) -> None:
        stream = io.StringIO()
        failure = Failure(ZeroDivisionError("boom"))
        JSONLogObserver(stream)(
            {"log_format": "oops", "log_level": LogLevel.error, "log_failure": failure}
        )
        record = json.loads(stream.getvalue())
        self.assertEqual((record["level"], record["message"]), ("error", "oops"))
        self.assertIn("ZeroDivisionError", record["traceback"])


class RequestLineTests(SynchronousTestCase):
    def test_stream_json(self) -> None:
        stream, clock = io.StringIO(), Clock()
        log = StreamRequestLog(stream, clock, json=True)
        log("127.0.0.1:5", "hi \\x1b")
        log("127.0.0.1:6", "bye", "reset")
        self.assertEqual(stream.getvalue(), "", "written in batches")
        clock.advance(StreamRequestLog.flushDelay)
        records = [json.loads(line) for line in stream.getvalue().splitlines()]
        self.assertEqual(
            [(r["peer"], r["request"], r["outcome"], r["message"]) for r in records],
            [
                ("127.0.0.1:5", "hi \\x1b", "answered", "127.0.0.1:5 hi \\x1b"),
                ("127.0.0.1:6", "bye", "reset", "127.0.0.1:6 (reset) bye"),
            ],
        )

    def test_batch_size_bounds_memory(self) -> None:
        """
        However fast requests come, no more than C{batchLines} lines wait.
        """
        stream, clock = io.StringIO(), Clock()
        log = StreamRequestLog(stream, clock)
        for n in range(StreamRequestLog.batchLines):
            log("127.0.0.1:5", str(n))
        self.assertEqual(
            len(stream.getvalue().splitlines()), StreamRequestLog.batchLines
        )
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_stream_text(self) -> None:
        stream, clock = io.StringIO(), Clock()
        log = StreamRequestLog(stream, clock)
        log("127.0.0.1:5", "hi")
        log.flush()
        self.assertRegex(
            stream.getvalue(),
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[responder#info\] "
            r"127\.0\.0\.1:5 hi\n$",
        )
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_events_carry_outcome(self) -> None:
        harness = Harness()
        log = LoggerRequestLog(harness.factory.log)
        log("127.0.0.1:5", "x", "closed")
        [event] = harness.events
        self.assertEqual(event["outcome"], "closed")
        self.assertEqual(formatEvent(event), "127.0.0.1:5 (closed) x")
