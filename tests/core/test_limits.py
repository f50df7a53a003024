"""
Limits that keep responder alive under abuse: deadlines, connection
limits, access rules, a log that a flood cannot flood, and draining.
All time is a L{task.Clock}.
"""

from ipaddress import ip_network

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig, ResponderProtocol

from ..support import Harness

RESPONSE = b"This is the response\0"


def peer(host: str, port: int = 5000) -> IPv4Address | IPv6Address:
    return (IPv6Address if ":" in host else IPv4Address)("TCP", host, port)


class TimeoutTests(SynchronousTestCase):
    """
    A connection that does not complete its request in C{timeout} seconds
    is closed, and aborted if it will not close.
    """

    def setUp(self) -> None:
        self.harness = Harness(ResponderConfig(timeout=30))

    def test_idle_connection_closed_then_aborted(self) -> None:
        """
        Silence past the deadline gets a polite close; a client that still
        holds the connection (it does not read, so the close cannot finish)
        is aborted a few seconds later, as twisted.web does.
        """
        _, transport = self.harness.connect()
        self.harness.clock.advance(29)
        self.assertFalse(transport.disconnecting)
        self.harness.clock.advance(1)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"", "a timed-out client gets no reply")
        self.assertEqual(self.harness.factory.stats.timedOut, 1)
        self.harness.clock.advance(4)
        self.assertFalse(transport.disconnected)
        self.harness.clock.advance(1)
        self.assertTrue(transport.disconnected, "not aborted")
        self.assertEqual(self.harness.factory.stats.aborted, 1)

    def test_answered_connection_that_never_goes_is_aborted(self) -> None:
        """
        An answered connection whose close has not finished by the deadline
        is aborted: a polite close waits for the client to read.
        """
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"hi")
        self.harness.clock.advance(30)
        self.assertTrue(transport.disconnected)
        self.assertEqual(self.harness.factory.stats.timedOut, 0)
        self.assertEqual(self.harness.factory.stats.aborted, 1)

    def test_no_timer_when_idle(self) -> None:
        """
        Once no connection is open, the sweep stops at its next tick: an
        idle server has no timer pending.
        """
        protocol, _ = self.harness.connect()
        self.assertNotEqual(self.harness.clock.getDelayedCalls(), [])
        protocol.connectionLost(Failure(ConnectionDone()))
        self.harness.clock.advance(1)
        self.assertEqual(self.harness.clock.getDelayedCalls(), [])

    def test_many_connections_one_timer(self) -> None:
        """
        Deadlines are checked by one periodic sweep, not a timer per
        connection.
        """
        for _ in range(100):
            self.harness.connect()
        self.assertEqual(len(self.harness.clock.getDelayedCalls()), 1)


class ConnectionLimitTests(SynchronousTestCase):
    """
    C{maxConnections} and C{maxPerIP} refuse connections cheaply.
    """

    def test_global_limit(self) -> None:
        harness = Harness(ResponderConfig(maxConnections=2))
        first, _ = harness.connect(peer("192.0.2.1"))
        harness.connect(peer("192.0.2.2"))
        refused, transport = harness.connect(peer("192.0.2.3"))
        self.assertNotIsInstance(refused, ResponderProtocol)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(harness.factory.stats.refusedByLimit, 1)
        first.connectionLost(Failure(ConnectionDone()))
        served, _ = harness.connect(peer("192.0.2.3"))
        self.assertIsInstance(served, ResponderProtocol)

    def test_busy_response(self) -> None:
        """
        With a busy response, a refused client is told why before the close.
        """
        harness = Harness(ResponderConfig(maxConnections=1, busyResponse=b"busy"))
        harness.connect()
        _, transport = harness.connect()
        self.assertEqual(transport.value(), b"busy\0")
        self.assertTrue(transport.disconnecting)

    def test_per_address_limit(self) -> None:
        harness = Harness(ResponderConfig(maxPerIP=2))
        harness.connect(peer("192.0.2.1", 1))
        last, _ = harness.connect(peer("192.0.2.1", 2))
        refused, _ = harness.connect(peer("192.0.2.1", 3))
        self.assertNotIsInstance(refused, ResponderProtocol)
        other, _ = harness.connect(peer("192.0.2.9", 1))
        self.assertIsInstance(other, ResponderProtocol)
        last.connectionLost(Failure(ConnectionDone()))
        again, _ = harness.connect(peer("192.0.2.1", 4))
        self.assertIsInstance(again, ResponderProtocol)

    def test_per_address_table_does_not_grow(self) -> None:
        """
        Addresses are forgotten when their last connection closes, so a scan
        from many addresses leaves nothing behind.
        """
        harness = Harness(ResponderConfig(maxPerIP=1))
        for n in range(300):
            protocol, _ = harness.connect(peer(f"10.0.{n // 256}.{n % 256}"))
            protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(harness.factory._admission.peers), 0)

    def test_unix_clients_have_no_address_limit(self) -> None:
        harness = Harness(ResponderConfig(maxPerIP=1))
        for _ in range(3):
            protocol, _ = harness.connect(UNIXAddress(None))
            self.assertIsInstance(protocol, ResponderProtocol)


class FakePort:
    """
    A listening port that notes when it stops and starts accepting, with
    Twisted's batch of accepts.
    """

    def __init__(self) -> None:
        self.reading = True
        self.changes = 0
        self.numberAccepts = 100

    def stopReading(self) -> None:
        self.reading = False
        self.changes += 1

    def startReading(self) -> None:
        self.reading = True
        self.changes += 1


class AcceptPauseTests(SynchronousTestCase):
    """
    At C{--max-connections}, or at the descriptors the process has left,
    the listening ports stop accepting instead of accepting and closing;
    they start again once a connection has closed.
    """

    def test_pause_at_max_connections(self) -> None:
        harness = Harness(ResponderConfig(maxConnections=2))
        port = FakePort()
        harness.factory.listeningOn(port, descriptors=1000)  # type: ignore[arg-type]
        first, _ = harness.connect()
        self.assertTrue(port.reading)
        harness.connect()
        self.assertFalse(port.reading)
        first.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(port.reading)
        harness.connect()
        self.assertFalse(port.reading)
        self.assertEqual(port.changes, 3)
        [line] = [line for line in harness.logged() if "not accepting" in line]
        self.assertEqual(
            line,
            "2 connections open: not accepting more until one closes"
            " (said at most every 10 s)",
        )

    def test_pause_at_descriptor_budget(self) -> None:
        """
        With no limit given, the descriptors left are the limit.
        """
        harness = Harness()
        port = FakePort()
        harness.factory.listeningOn(port, descriptors=3)  # type: ignore[arg-type]
        for _ in range(3):
            harness.connect()
        self.assertFalse(port.reading)

    def test_batches_fit_the_slots_left(self) -> None:
        """
        Near the capacity, a port never accepts more in one go than there
        are slots left, however Twisted has grown its batch meanwhile; the
        fit comes at the end of the iteration, after the batch.
        """
        harness = Harness(ResponderConfig(maxConnections=10))
        port = FakePort()
        harness.factory.listeningOn(port, descriptors=1000)  # type: ignore[arg-type]
        self.assertEqual(port.numberAccepts, 10)
        for _ in range(3):
            harness.connect()
        port.numberAccepts = 50  # Twisted grows it after a full batch
        self.assertEqual(port.numberAccepts, 50)
        harness.clock.advance(0)
        self.assertEqual(port.numberAccepts, 7)
        protocols = [harness.connect()[0] for _ in range(7)]
        self.assertFalse(port.reading)
        port.numberAccepts = 27
        protocols[0].connectionLost(Failure(ConnectionDone()))
        self.assertEqual((port.reading, port.numberAccepts), (True, 1))

    def test_batches_alone_far_from_capacity(self) -> None:
        """
        Far from the capacity (more than C{headroom} slots left), batches
        are Twisted's own.
        """
        harness = Harness()
        port = FakePort()
        capacity = harness.factory._registry.headroom + 150
        harness.factory.listeningOn(port, descriptors=capacity)  # type: ignore[arg-type]
        harness.connect()
        harness.clock.advance(0)
        self.assertEqual(port.numberAccepts, 100)
        port.numberAccepts = 5000
        for _ in range(149):  # 1000 slots left: still not within
            harness.connect()
        harness.clock.advance(0)
        self.assertEqual(port.numberAccepts, 5000)
        for _ in range(1):  # 999 left: within the headroom
            harness.connect()
        harness.clock.advance(0)
        self.assertEqual(port.numberAccepts, 999)

    def test_pause_said_at_most_every_interval(self) -> None:
        harness = Harness(ResponderConfig(maxConnections=1))
        port = FakePort()
        harness.factory.listeningOn(port, descriptors=1000)  # type: ignore[arg-type]
        harness.clock.advance(100)
        said = []
        for seconds in (0, 4, 5, 1, 9, 1):  # at 100, 104, 109, 110, 119, 120
            harness.clock.advance(seconds)
            protocol, _ = harness.connect()
            protocol.connectionLost(Failure(ConnectionDone()))
            said.append(sum("not accepting" in line for line in harness.logged()))
        self.assertEqual(said, [1, 1, 1, 2, 2, 3])
        self.assertEqual(port.changes, 12)

    def test_one_pause_for_a_batch_past_capacity(self) -> None:
        """
        Connections accepted past the capacity in one batch (the descriptor
        budget refuses nothing) pause the port once, and it resumes only
        once fewer than the capacity are open.
        """
        harness = Harness()
        port = FakePort()
        harness.factory.listeningOn(port, descriptors=2)  # type: ignore[arg-type]
        protocols = [harness.connect()[0] for _ in range(3)]
        self.assertEqual((port.reading, port.changes), (False, 1))
        protocols[0].connectionLost(Failure(ConnectionDone()))
        self.assertFalse(port.reading)
        protocols[1].connectionLost(Failure(ConnectionDone()))
        self.assertTrue(port.reading)

    def test_one_fit_per_iteration(self) -> None:
        harness = Harness()
        port = FakePort()
        harness.factory.listeningOn(port, descriptors=500)  # type: ignore[arg-type]
        for _ in range(5):
            harness.connect()
        # The deadline sweep, and one fit of the batches.
        self.assertEqual(len(harness.clock.getDelayedCalls()), 2)

    def test_ports_without_batches(self) -> None:
        """
        A port with no batch of accepts of its own is paused all the same.
        """

        class Unbatched:
            reading = True

            def stopReading(self) -> None:
                self.reading = False

            def startReading(self) -> None:
                self.reading = True

        harness = Harness()
        port = Unbatched()
        harness.factory.listeningOn(port, descriptors=1)  # type: ignore[arg-type]
        harness.connect()
        harness.clock.advance(0)
        self.assertFalse(port.reading)

    def test_capacity_is_the_smaller(self) -> None:
        """
        The capacity is C{--max-connections} or the descriptors left,
        whichever is smaller.
        """
        harness = Harness(ResponderConfig(maxConnections=50))
        port = FakePort()
        harness.factory.listeningOn(port, descriptors=2)  # type: ignore[arg-type]
        harness.connect()
        self.assertTrue(port.reading)
        harness.connect()
        self.assertFalse(port.reading)

    def test_send_at_once_unless_stock(self) -> None:
        """
        A TCP port's connections get the transport that sends at once,
        unless C{--stock-transport} says no.
        """
        from twisted.internet import tcp

        from responder.core import SendAtOnceServer

        for stock, expected in ((False, SendAtOnceServer), (True, tcp.Server)):
            harness = Harness(ResponderConfig(stockTransport=stock))
            port = tcp.Port(0, harness.factory)
            harness.factory.listeningOn(port, descriptors=10)
            self.assertIs(port.transport, expected)

    def test_no_pause_below(self) -> None:
        harness = Harness(ResponderConfig(maxConnections=5))
        port = FakePort()
        harness.factory.listeningOn(port, descriptors=1000)  # type: ignore[arg-type]
        for _ in range(4):
            protocol, _ = harness.connect()
            protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(port.changes, 0)


class AccessRuleTests(SynchronousTestCase):
    """
    C{allow} and C{deny} networks, IPv4 and IPv6.
    """

    def served(self, config: ResponderConfig, host: str) -> bool:
        protocol, _ = Harness(config).connect(peer(host))
        return isinstance(protocol, ResponderProtocol)

    def test_deny(self) -> None:
        config = ResponderConfig(deny=(ip_network("192.0.2.0/24"),))
        self.assertFalse(self.served(config, "192.0.2.200"))
        self.assertTrue(self.served(config, "198.51.100.1"))

    def test_allow(self) -> None:
        config = ResponderConfig(allow=(ip_network("10.0.0.0/8"), ip_network("::1")))
        self.assertTrue(self.served(config, "10.1.2.3"))
        self.assertTrue(self.served(config, "::1"))
        self.assertFalse(self.served(config, "11.0.0.1"))
        self.assertFalse(self.served(config, "2001:db8::1"))

    def test_deny_wins_over_allow(self) -> None:
        config = ResponderConfig(
            allow=(ip_network("10.0.0.0/8"),), deny=(ip_network("10.9.0.0/16"),)
        )
        self.assertTrue(self.served(config, "10.1.0.1"))
        self.assertFalse(self.served(config, "10.9.0.1"))

    def test_ipv4_mapped_ipv6(self) -> None:
        """
        A dual-stack listener sees IPv4 clients as C{::ffff:a.b.c.d}; IPv4
        rules apply to them.
        """
        config = ResponderConfig(deny=(ip_network("192.0.2.0/24"),))
        self.assertFalse(self.served(config, "::ffff:192.0.2.1"))

    def test_scoped_ipv6(self) -> None:
        config = ResponderConfig(allow=(ip_network("fe80::/10"),))
        self.assertTrue(self.served(config, "fe80::1%eth0"))

    def test_refused_silently(self) -> None:
        """
        A denied client gets no busy reply: it is not told anything.
        """
        harness = Harness(
            ResponderConfig(deny=(ip_network("0.0.0.0/0"),), busyResponse=b"busy")
        )
        _, transport = harness.connect()
        self.assertEqual(transport.value(), b"")
        self.assertEqual(harness.factory.stats.refusedByAccess, 1)


class RefusalLogTests(SynchronousTestCase):
    """
    Refusals are logged once, then summarised once per interval.
    """

    def test_flood_logs_few_lines(self) -> None:
        harness = Harness(ResponderConfig(maxConnections=1))
        harness.connect()
        for _ in range(1000):
            harness.connect()
        self.assertEqual(
            harness.logged(),
            [
                "refused connection from 192.0.2.7:40000: connection limit; "
                "further refusals are summarised every 10 s"
            ],
        )
        harness.clock.advance(10)
        self.assertEqual(
            harness.logged()[1:],
            ["refused 999 more connections in the last 10 s: connection limit"],
        )
        harness.clock.advance(10)
        self.assertEqual(len(harness.logged()), 2, "nothing new to say")
        harness.connect()
        self.assertEqual(len(harness.logged()), 3, "a new episode is logged at once")

    def test_summary_written_when_factory_stops(self) -> None:
        """
        Refusals counted but not yet reported are reported when the last
        port stops listening, and no timer is left behind.
        """
        harness = Harness(ResponderConfig(maxPerIP=1))
        harness.connect()
        harness.connect()
        harness.connect()
        harness.factory.doStart()
        harness.factory.doStop()
        self.assertEqual(
            harness.logged()[-1],
            "refused 1 more connections in the last 10 s: per-address limit",
        )
        self.assertEqual(len(harness.clock.getDelayedCalls()), 1, "only the sweep")


class DrainTests(SynchronousTestCase):
    """
    L{ResponderFactory.drain} waits for open connections, up to a deadline.
    """

    def test_nothing_open(self) -> None:
        harness = Harness()
        self.successResultOf(harness.factory.drain(10))

    def test_waits_for_connections(self) -> None:
        harness = Harness()
        protocol, transport = harness.connect()
        drained = harness.factory.drain(10)
        self.assertNoResult(drained)
        protocol.dataReceived(b"in flight")
        self.assertEqual(transport.value(), RESPONSE)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(drained)
        harness.clock.advance(1)
        self.assertEqual(harness.clock.getDelayedCalls(), [], "timers left behind")

    def test_aborts_after_deadline(self) -> None:
        harness = Harness(ResponderConfig(timeout=60))
        protocol, transport = harness.connect()
        drained = harness.factory.drain(10)
        harness.clock.advance(10)
        self.assertTrue(transport.disconnected)
        self.assertNoResult(drained)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(drained)
