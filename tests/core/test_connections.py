"""
The connection registry: the pace of its sweep, what it counts, and what
a drain says in the log.
"""

from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig

from ..support import Harness


class SweepTests(SynchronousTestCase):
    def test_sweep_at_a_quarter_of_a_short_timeout(self) -> None:
        """
        With a timeout under 4 s the sweep runs every quarter of it, so a
        deadline is missed by at most that.
        """
        harness = Harness(ResponderConfig(timeout=2))
        harness.connect()
        (sweep,) = harness.clock.getDelayedCalls()
        self.assertEqual(sweep.getTime(), 0.5)

    def test_sweep_every_second_at_most(self) -> None:
        harness = Harness(ResponderConfig(timeout=30))
        harness.connect()
        (sweep,) = harness.clock.getDelayedCalls()
        self.assertEqual(sweep.getTime(), 1.0)

    def test_counts_every_timeout_and_abort(self) -> None:
        harness = Harness(ResponderConfig(timeout=2))
        transports = [harness.connect()[1] for _ in range(3)]
        harness.clock.advance(2)
        self.assertEqual(harness.factory.stats.timedOut, 3)
        self.assertTrue(all(t.disconnecting for t in transports))
        harness.clock.advance(5)
        self.assertEqual(harness.factory.stats.aborted, 3)


class DrainLogTests(SynchronousTestCase):
    def test_drain_says_what_it_waits_for_and_aborts(self) -> None:
        harness = Harness(ResponderConfig(timeout=60))
        connections = [harness.connect() for _ in range(3)]
        drained = harness.factory.drain(7.5)
        self.assertEqual(
            harness.logged(),
            ["waiting up to 7.5 s for 3 open connections to finish"],
        )
        first, _ = connections[0]
        first.connectionLost(Failure(ConnectionDone()))
        harness.clock.advance(7.5)
        self.assertEqual(
            harness.logged()[1:],
            ["aborting 2 connections that did not finish in time"],
        )
        self.assertEqual(harness.factory.stats.aborted, 2)
        for protocol, transport in connections[1:]:
            self.assertTrue(transport.disconnected)
            protocol.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(drained)
        harness.clock.advance(1)
        self.assertEqual(harness.clock.getDelayedCalls(), [], "timers left behind")

    def test_drain_then_drain_again(self) -> None:
        """
        A second drain after the first has finished waits and times out as
        the first did.
        """
        harness = Harness(ResponderConfig(timeout=60))
        for _ in range(2):
            protocol, transport = harness.connect()
            drained = harness.factory.drain(5)
            harness.clock.advance(5)
            self.assertTrue(transport.disconnected)
            protocol.connectionLost(Failure(ConnectionDone()))
            self.successResultOf(drained)
        self.assertEqual(harness.factory.stats.aborted, 2)
