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


class ListSink:
    """
    A L{responder.logs.LineSink} that keeps what it is given, and notes
    each write in a shared record of events.
    """

    def __init__(self, events: list[object] | None = None) -> None:
        self.text = ""
        self.events = [] if events is None else events

    def write(self, text: str, lines: int) -> None:
        assert text.count("\n") == lines
        self.text += text
        self.events.append(("write", lines))


class RequestLineTests(SynchronousTestCase):
    def test_stream_json(self) -> None:
        sink, clock = ListSink(), Clock()
        log = StreamRequestLog(sink, clock, json=True)
        log("127.0.0.1:5", "hi \\x1b")
        log("127.0.0.1:6", "bye", "reset")
        self.assertEqual(sink.text, "", "written at the end of the iteration")
        clock.advance(0)
        records = [json.loads(line) for line in sink.text.splitlines()]
        self.assertEqual(
            [(r["peer"], r["request"], r["outcome"], r["message"]) for r in records],
            [
                ("127.0.0.1:5", "hi \\x1b", "answered", "127.0.0.1:5 hi \\x1b"),
                ("127.0.0.1:6", "bye", "reset", "127.0.0.1:6 (reset) bye"),
            ],
        )
        self.assertEqual(sink.events, [("write", 2)], "in one write")

    def test_answers_wait_for_their_lines(self) -> None:
        """
        What is asked to happen after a request's line waits until that
        line has been handed over, and then happens in order.
        """
        events: list[object] = []
        sink, clock = ListSink(events), Clock()
        log = StreamRequestLog(sink, clock)
        log("127.0.0.1:5", "one")
        log.after(events.append, "answer one")
        log("127.0.0.1:6", "two")
        log.after(events.append, "answer two")
        self.assertEqual(events, [])
        clock.advance(0)
        self.assertEqual(events, [("write", 2), "answer one", "answer two"])
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_nothing_to_wait_for(self) -> None:
        """
        With no line waiting, what is asked happens at once.
        """
        events: list[object] = []
        log = StreamRequestLog(ListSink(events), Clock())
        log.after(events.append, "greeting")
        self.assertEqual(events, ["greeting"])

    def test_flush_now(self) -> None:
        """
        A flush (as a drain ends) writes at once and cancels the pending
        one.
        """
        sink, clock = ListSink(), Clock()
        log = StreamRequestLog(sink, clock)
        log("127.0.0.1:5", "hi")
        log.flush()
        self.assertRegex(
            sink.text,
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
