"""
What each connection's end counts and logs: a rule's reset is not the
client's reset, a clean close by the client is no reset at all, every
counter counts each event, latency is measured from the request, and a
connection that ends after a rule's answer ends cleanly.
"""

from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig
from responder.core._stats import LATENCY_BUCKETS

from ..support import Harness
from .test_faults import RULES, writeRules

RESPONSE = b"This is the response\0"
GREETING = b"hello there"


def rulesHarness(**settings: object) -> Harness:
    config = ResponderConfig(rules=writeRules(RULES), timeout=30, **settings)  # type: ignore[arg-type]
    return Harness(config)


class ResetTests(SynchronousTestCase):
    def test_rule_reset_is_not_a_client_reset(self) -> None:
        """
        A C{reset} rule aborts the connection; the loss that follows is
        the rule's doing, logged as C{(reset)}, and not counted as the
        client breaking off.
        """
        harness = rulesHarness()
        protocol, transport = harness.connect()
        protocol.dataReceived(b"RESET")
        self.assertTrue(transport.disconnected)
        protocol.connectionLost(Failure(ConnectionLost()))
        stats = harness.factory.stats
        self.assertEqual((stats.resetByRule, stats.reset), (1, 0))
        self.assertEqual(harness.logged()[-1], "192.0.2.7:40000 (reset) RESET")
        self.assertEqual(harness.factory.connections, set())

    def test_client_reset_counted(self) -> None:
        """
        A client that resets in the middle of its request is counted as a
        reset; one that resets before sending anything is a probe.
        """
        harness = Harness(ResponderConfig(keepAlive=True))
        for _ in range(2):
            protocol, _ = harness.connect()
            protocol.dataReceived(b"half a requ")
            protocol.connectionLost(Failure(ConnectionLost()))
        for _ in range(2):
            protocol, _ = harness.connect()
            protocol.connectionLost(Failure(ConnectionLost()))
        stats = harness.factory.stats
        self.assertEqual((stats.reset, stats.probes), (2, 2))

    def test_clean_close_is_not_a_reset(self) -> None:
        """
        A client that closes cleanly before it is answered has not reset
        anything.
        """
        harness = Harness()
        protocol, _ = harness.connect()
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(harness.factory.stats.reset, 0)
        self.assertEqual(harness.factory.connections, set())


class RuleEndTests(SynchronousTestCase):
    def test_connection_lost_after_each_kind_of_rule(self) -> None:
        """
        However a rule ended the request, the loss of the connection that
        follows is handled cleanly, and each outcome is counted once per
        connection.
        """
        harness = rulesHarness()
        for request in [b"PING", b"CLOSE", b"RESET", b"NEVER", b"SLOW"] * 2:
            protocol, _ = harness.connect()
            protocol.dataReceived(request)
            # Step by step: a slow write's pieces are timers set by timers.
            for _ in range(3):
                harness.clock.advance(0.5)
            protocol.connectionLost(Failure(ConnectionDone()))
        stats = harness.factory.stats
        self.assertEqual(harness.factory.connections, set())
        self.assertEqual(
            (stats.closedByRule, stats.resetByRule, stats.unanswered, stats.answered),
            (2, 2, 2, 4),
        )
        self.assertEqual((stats.requests, stats.connections), (10, 10))
        harness.clock.advance(1)  # the sweep stops, with nothing to sweep
        self.assertEqual(harness.clock.getDelayedCalls(), [], "timers left behind")


class CounterTests(SynchronousTestCase):
    def test_bytes_out_counts_every_write(self) -> None:
        harness = rulesHarness()
        for _ in range(2):
            protocol, transport = harness.connect()
            protocol.dataReceived(b"other")
            self.assertEqual(transport.value(), GREETING + RESPONSE)
        self.assertEqual(harness.factory.stats.bytesOut, 2 * len(GREETING + RESPONSE))

    def test_bytes_in_and_requests(self) -> None:
        harness = Harness()
        for _ in range(2):
            protocol, _ = harness.connect()
            protocol.dataReceived(b"abc\0")
            protocol.dataReceived(b"later")
        stats = harness.factory.stats
        self.assertEqual((stats.bytesIn, stats.requests, stats.answered), (18, 2, 2))


class LatencyTests(SynchronousTestCase):
    def harness(self) -> Harness:
        harness = rulesHarness(metrics="tcp:0")
        # A clock far from 0 tells "now - started" from "now + started".
        harness.clock.advance(1000)
        return harness

    def test_default_response_takes_no_time(self) -> None:
        harness = self.harness()
        protocol, _ = harness.connect()
        protocol.dataReceived(b"other")
        latency = harness.factory.stats.latency
        self.assertEqual(latency.total, 0.0)
        self.assertEqual(latency.counts[0], 1)

    def test_delay_and_slow_write(self) -> None:
        harness = self.harness()
        protocol, _ = harness.connect()
        protocol.dataReceived(b"WAIT")
        harness.clock.advance(2.5)
        protocol, _ = harness.connect()
        protocol.dataReceived(b"SLOW")
        harness.clock.advance(0.5)
        harness.clock.advance(0.5)
        latency = harness.factory.stats.latency
        self.assertEqual(latency.total, 3.5)
        self.assertEqual(latency.counts[LATENCY_BUCKETS.index(5.0)], 1)
        self.assertEqual(latency.counts[LATENCY_BUCKETS.index(1.0)], 1)

    def test_not_measured_without_metrics(self) -> None:
        harness = rulesHarness()
        protocol, _ = harness.connect()
        protocol.dataReceived(b"WAIT")
        harness.clock.advance(2.5)
        self.assertEqual(harness.factory.stats.latency.total, 0.0)
        self.assertEqual(sum(harness.factory.stats.latency.counts), 0)
