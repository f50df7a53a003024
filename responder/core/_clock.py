"""
Timers that a step of the wall clock cannot move.

Twisted schedules C{callLater} by C{reactor.seconds()}, which is
C{time.time()}: when the wall clock is stepped back an hour (by NTP, an
operator, a suspended VM), every timer fires an hour late: idle timeouts,
the drain deadline, the request log's retries, the metrics' refreshes.
L{useMonotonicClock} makes the server's reactor schedule by
C{time.monotonic()} instead, which never steps.  Request lines and log
events keep their wall-clock time stamps, which they take from
C{time.time()} themselves.

This relies on Twisted internals, all in this module: the reactor reads
C{self.seconds} for every schedule and every poll timeout; each
C{DelayedCall} keeps its due C{time} and its own C{seconds} function; the
reactor keeps its calls in C{_pendingTimedCalls} and C{_newTimedCalls}.
C{tests/core/test_clock.py} checks each of them, so a Twisted upgrade that
breaks one fails a test.
"""

import time
from typing import Any

from twisted.internet.base import ReactorBase


def useMonotonicClock(reactor: object) -> bool:
    """
    Make C{reactor} (Twisted's own, not yet running or running) schedule
    by C{time.monotonic()}, moving the calls it already has so that each
    stays due as far in the future as it was.

    @return: whether the clock was changed: C{False} for a test clock, a
        memory reactor, or a reactor that already uses it.
    """
    if not isinstance(reactor, ReactorBase) or reactor.seconds is time.monotonic:
        return False
    real: Any = reactor
    shift = time.monotonic() - reactor.seconds()
    for call in [*real._pendingTimedCalls, *real._newTimedCalls]:
        call.time += shift
        call.seconds = time.monotonic
    real.seconds = time.monotonic
    return True
