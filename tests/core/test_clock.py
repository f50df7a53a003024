"""
useMonotonicClock: the reactor schedules by time.monotonic(), and the
Twisted internals it relies on are still there.
"""

import time

from twisted.internet.base import DelayedCall
from twisted.internet.selectreactor import SelectReactor
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from responder.core import useMonotonicClock


class MonotonicClockTests(SynchronousTestCase):
    def setUp(self) -> None:
        # A reactor of its own, never installed or run.
        self.reactor = SelectReactor()
        self.addCleanup(self.reactor.disconnectAll)

    def test_internals(self) -> None:
        """
        What the switch relies on: the reactor's two lists of timed calls,
        and each call's due time and clock.
        """
        call = self.reactor.callLater(5, lambda: None)
        self.assertIsInstance(call, DelayedCall)
        self.assertIn(call, self.reactor._newTimedCalls)
        self.assertIsInstance(self.reactor._pendingTimedCalls, list)
        self.assertIs(call.seconds, self.reactor.seconds)
        self.assertLess(abs(call.time - (time.time() + 5)), 1)

    def test_calls_keep_their_delay(self) -> None:
        earlier = self.reactor.callLater(10, lambda: None)
        self.reactor.runUntilCurrent()  # moves it to the pending calls
        later = self.reactor.callLater(20, lambda: None)
        self.assertTrue(useMonotonicClock(self.reactor))
        self.assertIs(self.reactor.seconds, time.monotonic)
        now = time.monotonic()
        self.assertLess(abs(earlier.getTime() - (now + 10)), 1)
        self.assertLess(abs(later.getTime() - (now + 20)), 1)
        fresh = self.reactor.callLater(30, lambda: None)
        self.assertLess(abs(fresh.getTime() - (now + 30)), 1)
        self.assertIs(fresh.seconds, time.monotonic)
        # The poll timeout counts on the same clock.
        timeout = self.reactor.timeout()
        assert timeout is not None
        self.assertLess(abs(timeout - (10)), 1)

    def test_wall_clock_steps_do_not_matter(self) -> None:
        """
        Once switched, a wall clock stepped back an hour moves no timer.
        """
        self.reactor.callLater(10, lambda: None)
        useMonotonicClock(self.reactor)
        self.patch(time, "time", lambda: 1_000_000.0)
        timeout = self.reactor.timeout()
        assert timeout is not None
        self.assertLess(abs(timeout - (10)), 1)

    def test_once(self) -> None:
        self.assertTrue(useMonotonicClock(self.reactor))
        self.assertFalse(useMonotonicClock(self.reactor))

    def test_test_clocks_untouched(self) -> None:
        for clock in (Clock(), MemoryReactorClock()):
            self.assertFalse(useMonotonicClock(clock))
