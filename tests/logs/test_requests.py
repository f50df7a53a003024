"""
L{StreamRequestLog}, past C{test_jsonlog}: the level and namespace of its
JSON lines, the time stamp that follows the clock from second to second,
and the end-of-iteration write, which must come back after each flush.
"""

import json
from types import SimpleNamespace

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

import responder.logs._requests
from responder.logs import StreamRequestLog

from .test_jsonlog import ListSink


class StreamRequestLogTests(SynchronousTestCase):
    def test_json_level_and_namespace(self) -> None:
        stream, clock = ListSink(), Clock()
        log = StreamRequestLog(stream, clock, json=True)
        log("127.0.0.1:5", "hi")
        log.flush()
        [record] = [json.loads(line) for line in stream.text.splitlines()]
        self.assertEqual((record["level"], record["namespace"]), ("info", "responder"))

    def test_timer_after_each_flush(self) -> None:
        """
        A line logged after a flush goes out at the end of its reactor
        iteration, as the first did.
        """
        stream, clock = ListSink(), Clock()
        log = StreamRequestLog(stream, clock)
        for n in range(3):
            log("127.0.0.1:5", str(n))
            clock.advance(0)
            self.assertEqual(len(stream.text.splitlines()), n + 1)
        log("127.0.0.1:5", "flushed by hand")
        log.flush()
        log("127.0.0.1:5", "after")
        clock.advance(0)
        self.assertEqual(len(stream.text.splitlines()), 5)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_time_stamp_follows_the_clock(self) -> None:
        """
        The time stamp, formatted once a second, changes with the second.
        """
        now = [1_800_000_000.25]
        self.patch(
            responder.logs._requests, "time", SimpleNamespace(time=lambda: now[0])
        )
        stream, clock = ListSink(), Clock()
        log = StreamRequestLog(stream, clock)
        for step in [0.0, 0.5, 1.0, 61.0]:
            now[0] += step
            log("127.0.0.1:5", str(step))
        log.flush()
        stamps = [line.split(" ", 1)[0] for line in stream.text.splitlines()]
        self.assertEqual(stamps[0], stamps[1])
        self.assertEqual(len(set(stamps)), 3, stamps)
