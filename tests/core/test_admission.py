"""
Admission, past what C{test_limits} shows: the per-address count stays
exact as connections come and go, refusal summaries keep their pace while
a flood lasts, and the reporter starts afresh once stopped.
"""

from ipaddress import ip_network
from typing import cast

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, Logger, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig, ResponderProtocol
from responder.core._admission import RefusalReporter

from ..support import Harness


def peer(host: str, port: int) -> IPv4Address:
    return IPv4Address("TCP", host, port)


class PerAddressTests(SynchronousTestCase):
    def test_closing_one_of_two_keeps_the_other_counted(self) -> None:
        """
        With two connections from a host at its limit of two, closing one
        makes room for exactly one more: the next is refused again.
        """
        harness = Harness(ResponderConfig(maxPerIP=2))
        first, _ = harness.connect(peer("192.0.2.1", 1))
        harness.connect(peer("192.0.2.1", 2))
        first.connectionLost(Failure(ConnectionDone()))
        third, _ = harness.connect(peer("192.0.2.1", 3))
        self.assertIsInstance(third, ResponderProtocol)
        refused, _ = harness.connect(peer("192.0.2.1", 4))
        self.assertNotIsInstance(refused, ResponderProtocol)
        self.assertEqual(harness.factory._admission.peers["192.0.2.1"], 2)

    def test_counts_each_refusal(self) -> None:
        harness = Harness(ResponderConfig(maxPerIP=1))
        harness.connect(peer("192.0.2.1", 1))
        harness.connect(peer("192.0.2.1", 2))
        harness.connect(peer("192.0.2.1", 3))
        self.assertEqual(harness.factory.stats.refusedByLimit, 2)
        self.assertEqual(harness.factory.stats.connections, 1)

    def test_counts_each_access_refusal(self) -> None:
        harness = Harness(ResponderConfig(deny=(ip_network("192.0.2.0/24"),)))
        harness.connect(peer("192.0.2.1", 1))
        harness.connect(peer("192.0.2.1", 2))
        served, _ = harness.connect(peer("198.51.100.1", 1))
        harness.connect(peer("198.51.100.2", 1))
        self.assertIsInstance(served, ResponderProtocol)
        self.assertEqual(harness.factory.stats.refusedByAccess, 2)
        self.assertEqual(harness.factory.stats.connections, 2)


class RefusalReporterTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.events: list[LogEvent] = []
        self.reporter = RefusalReporter(
            self.clock, Logger(observer=cast(ILogObserver, self.events.append))
        )

    def logged(self) -> list[str]:
        return [formatEvent(event) for event in self.events]

    def test_long_flood_summarised_every_interval(self) -> None:
        """
        A flood that outlasts one interval is summarised once per interval,
        never with a fresh "refused connection" line in between.
        """
        self.reporter.refused("connection limit", "a")
        for second in range(1, 35):
            self.reporter.refused("connection limit", "a")
            self.clock.advance(1)
            self.assertEqual(len(self.logged()), 1 + second // 10, second)
        self.assertEqual(
            self.logged()[1:],
            ["refused 10 more connections in the last 10 s: connection limit"] * 3,
        )

    def test_summary_per_reason(self) -> None:
        self.reporter.refused("connection limit", "a")
        self.reporter.refused("per-address limit", "b")
        self.reporter.refused("per-address limit", "b")
        self.reporter.refused("access rules", "c")
        self.clock.advance(10)
        self.assertEqual(
            self.logged()[1:],
            [
                "refused 1 more connections in the last 10 s: access rules",
                "refused 2 more connections in the last 10 s: per-address limit",
            ],
        )

    def test_fresh_after_stop(self) -> None:
        """
        Once stopped (the last port stopped listening), the next refusal,
        if the factory listens again, is logged at once.
        """
        self.reporter.refused("connection limit", "a")
        self.reporter.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.reporter.refused("connection limit", "b")
        self.assertEqual(len(self.logged()), 2)
        self.assertIn("from b:", self.logged()[1])
