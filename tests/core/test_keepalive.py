"""
Keep-alive mode: every delimited request on a connection gets its own
response, in order, with bounded memory and the idle timeout still on.
"""

from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig
from responder.tap import Options

from ..support import PEER, Harness

RESPONSE = b"This is the response\0"


class BufferingTransport(StringTransport):
    """
    A transport that, like Twisted's, asks its streaming producer to pause
    once more than C{bufferSize} bytes wait to be written; here, until
    the test clears it.
    """

    def __init__(self, bufferSize: int) -> None:
        super().__init__(peerAddress=PEER)
        self.bufferSize = bufferSize

    def write(self, data: bytes) -> None:
        super().write(data)
        full = len(self.value()) > self.bufferSize
        if full and self.producer is not None and self.producerState == "producing":
            self.producer.pauseProducing()


class KeepAliveTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.harness = Harness(ResponderConfig(keepAlive=True, timeout=30))
        self.protocol, self.transport = self.harness.connect()

    def requests(self) -> list[str]:
        return [line.split(" ", 1)[1] for line in self.harness.logged()]

    def test_one_response_per_request(self) -> None:
        """
        The connection stays open between requests.
        """
        self.protocol.dataReceived(b"one\0")
        self.assertEqual(self.transport.value(), RESPONSE)
        self.assertFalse(self.transport.disconnecting)
        self.protocol.dataReceived(b"two\0")
        self.assertEqual(self.transport.value(), RESPONSE * 2)
        self.assertEqual(self.requests(), ["one", "two"])

    def test_probe(self) -> None:
        """
        A connection that ends without sending a byte is a connect-only
        probe: counted, not logged, closed.  One that sent part of a request
        and resets is a reset, not a probe.
        """
        self.protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.harness.logged(), [])
        partial, _ = self.harness.connect()
        partial.dataReceived(b"unfinish")
        partial.connectionLost(Failure(ConnectionLost()))
        stats = self.harness.factory.stats
        self.assertEqual((stats.probes, stats.reset, stats.requests), (1, 1, 0))

    def test_pipelined(self) -> None:
        """
        Requests written together are answered in order.
        """
        self.protocol.dataReceived(b"a\0b\0\0c\0")
        self.assertEqual(self.transport.value(), RESPONSE * 4)
        self.assertEqual(self.requests(), ["a", "b", "", "c"])

    def test_split_requests(self) -> None:
        """
        A request arriving in pieces is answered once it is whole.
        """
        self.protocol.dataReceived(b"hel")
        self.assertEqual(self.transport.value(), b"")
        self.protocol.dataReceived(b"lo\0wor")
        self.protocol.dataReceived(b"ld\0")
        self.assertEqual(self.transport.value(), RESPONSE * 2)
        self.assertEqual(self.requests(), ["hello", "world"])

    def test_long_request_cut(self) -> None:
        """
        Of an over-long request, the first C{maxRequest} bytes are kept and
        answered when the delimiter comes; the rest is discarded.
        """
        harness = Harness(ResponderConfig(keepAlive=True, maxRequest=4))
        protocol, transport = harness.connect()
        protocol.dataReceived(b"abcdefgh")
        protocol.dataReceived(b"ijkl" * 1000)
        self.assertEqual(len(protocol._framer._partial), 4)  # type: ignore[attr-defined]
        protocol.dataReceived(b"mn\0xyzzy\0")
        self.assertEqual(transport.value(), RESPONSE * 2)
        self.assertEqual(
            [line.split(" ", 1)[1] for line in harness.logged()], ["abcd", "xyzz"]
        )

    def test_newline_delimiter(self) -> None:
        """
        With a newline delimiter, a CR before it (telnet, netcat -C) is
        dropped.
        """
        harness = Harness(ResponderConfig(keepAlive=True, delimiter=b"\n"))
        protocol, transport = harness.connect()
        protocol.dataReceived(b"PING\r\nPONG\nA\0B\n")
        self.assertEqual(transport.value(), RESPONSE * 3)
        self.assertEqual(
            [line.split(" ", 1)[1] for line in harness.logged()],
            ["PING", "PONG", "A\\x00B"],
        )

    def test_end_of_input_answers_partial_request(self) -> None:
        self.protocol.dataReceived(b"done\0last")
        self.protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertEqual(self.transport.value(), RESPONSE * 2)
        self.assertEqual(self.requests(), ["done", "last"])
        self.assertTrue(self.transport.disconnecting)

    def test_end_of_input_alone_closes(self) -> None:
        self.protocol.dataReceived(b"done\0")
        self.protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertEqual(self.transport.value(), RESPONSE)
        self.assertTrue(self.transport.disconnecting)

    def test_idle_timeout_restarts_after_each_response(self) -> None:
        clock = self.harness.clock
        clock.advance(20)
        self.protocol.dataReceived(b"x\0")
        clock.advance(29)
        self.assertFalse(self.transport.disconnecting)
        clock.advance(1)
        self.assertTrue(self.transport.disconnecting)

    def test_partial_data_does_not_extend_deadline(self) -> None:
        """
        A client trickling bytes of a request that never ends cannot hold the
        connection for ever.
        """
        for _ in range(29):
            self.protocol.dataReceived(b"x")
            self.harness.clock.advance(1)
        self.assertFalse(self.transport.disconnecting)
        self.harness.clock.advance(1)
        self.assertTrue(self.transport.disconnecting)

    def test_backpressure(self) -> None:
        """
        When the client stops reading, the transport asks the protocol to
        pause and it stops reading the client's requests; it reads again
        when asked to resume.
        """
        self.assertIs(self.transport.producer, self.protocol)
        self.assertTrue(self.transport.streaming)
        self.protocol.pauseProducing()  # type: ignore[attr-defined]
        self.assertEqual(self.transport.producerState, "paused")
        self.protocol.resumeProducing()  # type: ignore[attr-defined]
        self.assertEqual(self.transport.producerState, "producing")

    def connectBuffering(self, bufferSize: int) -> tuple[Protocol, BufferingTransport]:
        protocol = self.harness.factory.buildProtocol(PEER)
        assert protocol is not None
        transport = BufferingTransport(bufferSize)
        protocol.makeConnection(transport)
        return protocol, transport

    def test_pause_within_a_chunk(self) -> None:
        """
        A chunk of many pipelined requests is answered only until the
        transport's buffer is full: the rest waits until the client has
        read, so memory stays bounded by the buffer, not by the number of
        requests in a chunk.
        """
        protocol, transport = self.connectBuffering(1000)
        count = 5000
        protocol.dataReceived(b"\0" * count)
        self.assertLess(len(transport.value()), 1000 + len(RESPONSE))
        self.assertEqual(transport.producerState, "paused")
        received = 0
        for _ in range(count):
            received += len(transport.value())
            transport.clear()
            if received == count * len(RESPONSE):
                break
            protocol.resumeProducing()  # type: ignore[attr-defined]
            self.assertLess(len(transport.value()), 1000 + len(RESPONSE))
        self.assertEqual(received, count * len(RESPONSE))
        self.assertEqual(len(self.harness.logged()), count)
        self.assertEqual(transport.producerState, "producing")

    def test_end_of_input_while_paused(self) -> None:
        """
        Requests that wait for the client to read are still answered after
        it half-closes, and then the connection closes.
        """
        protocol, transport = self.connectBuffering(100)
        protocol.dataReceived(b"\0" * 20 + b"last")
        protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertFalse(transport.disconnecting)
        received = b""
        while not transport.disconnecting:
            received += transport.value()
            transport.clear()
            protocol.resumeProducing()  # type: ignore[attr-defined]
        received += transport.value()
        self.assertEqual(received, RESPONSE * 21)
        self.assertEqual(self.requests()[-1], "last")

    def test_connection_lost(self) -> None:
        self.protocol.dataReceived(b"half")
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.harness.factory.connections, set())


class KeepAliveLimitTests(SynchronousTestCase):
    """
    A keep-alive connection is not kept for ever: it is closed politely
    after its last answer, by count or by age.
    """

    def test_request_limit(self) -> None:
        harness = Harness(ResponderConfig(keepAlive=True, keepAliveRequests=3))
        protocol, transport = harness.connect()
        protocol.dataReceived(b"1\0")
        protocol.dataReceived(b"2\0")
        self.assertFalse(transport.disconnecting)
        protocol.dataReceived(b"3\0" + b"4\0" + b"5")
        self.assertEqual(transport.value(), RESPONSE * 3)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(len(harness.logged()), 3)

    def test_lifetime(self) -> None:
        """
        A client that asks before every idle timeout is still closed once
        the connection's time is up, after the answer then in progress.
        """
        harness = Harness(
            ResponderConfig(keepAlive=True, timeout=30, keepAliveTime=100)
        )
        protocol, transport = harness.connect()
        for _ in range(4):
            harness.clock.advance(20)
            protocol.dataReceived(b"ping\0")
        self.assertFalse(transport.disconnecting)
        harness.clock.advance(20)  # 100 s after it opened
        protocol.dataReceived(b"ping\0")
        self.assertEqual(transport.value(), RESPONSE * 5)
        self.assertTrue(transport.disconnecting)

    def test_no_limit(self) -> None:
        harness = Harness(ResponderConfig(keepAlive=True))
        protocol, transport = harness.connect()
        protocol.dataReceived(b"x\0" * 2000)
        self.assertEqual(transport.value(), RESPONSE * 2000)
        self.assertFalse(transport.disconnecting)


class KeepAliveOptionTests(SynchronousTestCase):
    def parse(self, *argv: str) -> ResponderConfig:
        options = Options()
        options.parseOptions(list(argv))
        config: ResponderConfig = options.config
        return config

    def test_options(self) -> None:
        config = self.parse("--keep-alive", "--delimiter", "newline")
        self.assertTrue(config.keepAlive)
        self.assertEqual(config.delimiter, b"\n")
        self.assertEqual(self.parse("-k", "--delimiter", ";").delimiter, b";")
        self.assertEqual(self.parse().delimiter, b"\0")
        limited = self.parse("-k", "--keep-alive-requests", "100")
        self.assertEqual(limited.keepAliveRequests, 100)
        self.assertEqual(self.parse().keepAliveRequests, None)
        self.assertEqual(self.parse("--keep-alive-time", "60").keepAliveTime, 60.0)
        self.assertEqual(self.parse().keepAliveTime, 3600.0)

    def test_bad_delimiter(self) -> None:
        with self.assertRaises(SystemExit) as caught:
            self.parse("--delimiter", "two")
        self.assertIn("--delimiter: 'two'", str(caught.exception.code))


class KeepAliveDrainTests(SynchronousTestCase):
    """
    A stopping server does not wait for idle keep-alive connections.
    """

    def test_idle_connection_closes_at_once(self) -> None:
        harness = Harness(ResponderConfig(keepAlive=True))
        protocol, transport = harness.connect()
        protocol.dataReceived(b"one\0")
        drained = harness.factory.drain(10)
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected, "closed, not reset")
        protocol.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(drained)

    def test_request_under_way_is_answered_first(self) -> None:
        harness = Harness(ResponderConfig(keepAlive=True))
        protocol, transport = harness.connect()
        protocol.dataReceived(b"half a requ")
        harness.factory.drain(10)
        self.assertFalse(transport.disconnecting)
        protocol.dataReceived(b"est\0")
        self.assertEqual(transport.value(), RESPONSE)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(harness.logged()[-1].split(" ", 1)[1], "half a request")
