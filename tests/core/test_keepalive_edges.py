"""
Keep-alive edges: a half-close with nothing sent, truncation at
C{maxRequest} across chunks, a transport that stays paused while the client
does not read, many requests in one chunk, and the bytes-in counter.
"""

from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig

from ..support import Harness
from .test_faults import RULES, writeRules

RESPONSE = b"This is the response\0"


class EdgeTests(SynchronousTestCase):
    def test_half_close_without_a_request_closes(self) -> None:
        """
        A client that half-closes without sending anything is closed, with
        nothing written and nothing logged.
        """
        harness = Harness(ResponderConfig(keepAlive=True))
        protocol, transport = harness.connect()
        protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(harness.logged(), [])

    def test_truncation_across_chunks(self) -> None:
        """
        Exactly C{maxRequest} bytes are kept, wherever the chunks split the
        request.
        """
        harness = Harness(ResponderConfig(keepAlive=True, maxRequest=4))
        protocol, transport = harness.connect()
        chunks = [b"ab", b"c", b"de\0", b"abc", b"d\0", b"abc\0", b"a", b"bcd", b"\0"]
        for chunk in chunks:
            protocol.dataReceived(chunk)
        self.assertEqual(
            [line.split(" ", 1)[1] for line in harness.logged()],
            ["abcd", "abcd", "abc", "abcd"],
        )
        self.assertEqual(transport.value(), RESPONSE * 4)

    def test_many_requests_in_one_chunk(self) -> None:
        """
        A chunk of thousands of requests, to a transport that never pushes
        back, is answered in a loop: each answer does not start the next.
        """
        harness = Harness(ResponderConfig(keepAlive=True, quiet=True))
        protocol, transport = harness.connect()
        protocol.dataReceived(b"x\0" * 5000)
        self.assertEqual(transport.value(), RESPONSE * 5000)
        self.assertEqual(harness.factory.stats.answered, 5000)

    def test_bytes_in_counted(self) -> None:
        harness = Harness(ResponderConfig(keepAlive=True))
        protocol, _ = harness.connect()
        protocol.dataReceived(b"one\0tw")
        protocol.dataReceived(b"o\0")
        self.assertEqual(harness.factory.stats.bytesIn, 8)
        self.assertEqual(harness.factory.stats.requests, 2)


class BackpressureTests(SynchronousTestCase):
    def setUp(self) -> None:
        config = ResponderConfig(keepAlive=True, rules=writeRules(RULES), timeout=30)
        self.harness = Harness(config)
        self.protocol, self.transport = self.harness.connect()
        self.transport.clear()

    def test_not_resumed_while_the_client_does_not_read(self) -> None:
        """
        A delayed answer that ends while the client is not reading does
        not resume the transport: the requests behind it wait until the
        client reads.
        """
        self.protocol.dataReceived(b"WAIT\0next\0")
        self.assertEqual(self.transport.producerState, "paused")
        self.protocol.pauseProducing()  # type: ignore[attr-defined]
        self.harness.clock.advance(2.5)
        self.assertEqual(self.transport.value(), b"waited")
        self.assertEqual(self.transport.producerState, "paused")
        self.protocol.resumeProducing()  # type: ignore[attr-defined]
        self.assertEqual(self.transport.value(), b"waited" + RESPONSE)
        self.assertEqual(self.transport.producerState, "producing")

    def test_not_resumed_after_end_of_input(self) -> None:
        """
        Input that ended while an answer was delayed is not read again:
        the answer goes out and the connection closes, still paused.
        """
        self.protocol.dataReceived(b"WAIT\0")
        self.assertEqual(self.transport.producerState, "producing")
        self.protocol.dataReceived(b"more")
        self.assertEqual(self.transport.producerState, "paused")
        self.protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.harness.clock.advance(2.5)
        self.assertEqual(self.transport.value(), b"waited" + RESPONSE)
        self.assertEqual(self.transport.producerState, "paused")
        self.assertTrue(self.transport.disconnecting)
