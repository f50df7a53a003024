"""
The metrics endpoint keeps to limits of its own: only GET and HEAD with no
body (nothing of a body is read), a small connection cap, and a time limit
per request that trickling bytes do not extend.
"""

import socket

from twisted.internet import tcp
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import Request

from responder.core import sendAtOnce
from responder.metrics import factorySource
from responder.metrics.collector import ResponderCollector
from responder.metrics.serving import (
    MAX_CONNECTIONS,
    MetricsPage,
    MetricsSite,
)

from ..support import Harness

PEER = IPv4Address("TCP", "127.0.0.1", 40000)
TIMEOUT = 10.0


class MetricsSiteTests(SynchronousTestCase):
    def setUp(self) -> None:
        from prometheus_client.registry import CollectorRegistry

        self.reactor = MemoryReactorClock()
        registry = CollectorRegistry()
        registry.register(ResponderCollector(factorySource(Harness().factory)))
        self.site = MetricsSite(MetricsPage(registry), self.reactor, TIMEOUT)
        self.site.doStart()
        self.addCleanup(self.site.doStop)
        self.spooled: list[int | None] = []
        # gotLength is where twisted.web makes a body's home: in memory,
        # or a temporary file when it is large.
        original = Request.gotLength

        def gotLength(request: Request, length: int | None) -> None:
            self.spooled.append(length)
            original(request, length)

        self.patch(Request, "gotLength", gotLength)

    def connect(self) -> tuple[Protocol, StringTransport]:
        channel = self.site.buildProtocol(PEER)
        assert channel is not None
        transport = StringTransport(peerAddress=PEER)
        channel.makeConnection(transport)
        return channel, transport

    def test_get(self) -> None:
        channel, transport = self.connect()
        channel.dataReceived(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 200 OK"))
        self.assertIn(b"responder_requests_total 0.0", transport.value())
        self.assertEqual(self.spooled, [0])

    def test_huge_post_refused_unread(self) -> None:
        """
        A POST announcing a gigabyte is answered 405 at once; its body is
        never given a home (twisted.web spooled it to a temporary file).
        """
        channel, transport = self.connect()
        channel.dataReceived(
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"
            + b"x" * 65536
        )
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 405 "))
        self.assertIn(b"Allow: GET, HEAD\r\n", transport.value())
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.spooled, [])

    def test_body_refused_unread(self) -> None:
        for framing in (b"Content-Length: 5", b"Transfer-Encoding: chunked"):
            channel, transport = self.connect()
            channel.dataReceived(
                b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n\r\nhello"
            )
            self.assertTrue(transport.value().startswith(b"HTTP/1.1 413 "), framing)
            self.assertTrue(transport.disconnecting)
        self.assertEqual(self.spooled, [])

    def test_other_methods(self) -> None:
        for method in (b"PUT", b"DELETE", b"OPTIONS", b"BREW"):
            channel, transport = self.connect()
            channel.dataReceived(method + b" /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(transport.value().startswith(b"HTTP/1.1 405 "), method)
        self.assertEqual(self.spooled, [])

    def test_trickle_does_not_extend(self) -> None:
        """
        A scraper sending a header byte every 2 seconds is closed at the
        timeout all the same (twisted.web's idle timer restarted at each
        byte), then aborted if it will not close.
        """
        channel, transport = self.connect()
        channel.dataReceived(b"GET /metrics HTTP/1.1\r\n")
        for _ in range(int(TIMEOUT / 2) - 1):
            self.reactor.advance(2)
            channel.dataReceived(b"X")
            self.assertFalse(transport.disconnecting)
        self.reactor.advance(2)
        self.assertTrue(transport.disconnecting)

    def test_timeout_restarts_after_a_response(self) -> None:
        """
        A keep-alive scraper gets the whole timeout for each request.
        """
        channel, transport = self.connect()
        for _ in range(3):
            self.reactor.advance(TIMEOUT - 1)
            channel.dataReceived(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertFalse(transport.disconnecting)
        self.reactor.advance(TIMEOUT)
        self.assertTrue(transport.disconnecting)

    def test_connection_cap(self) -> None:
        """
        At most L{MAX_CONNECTIONS} are open at once; one more is closed as
        it connects, and the refusal is logged once.
        """
        opened = [self.connect() for _ in range(MAX_CONNECTIONS)]
        self.assertFalse(any(t.disconnecting for _, t in opened))
        _, refused = self.connect()
        self.assertTrue(refused.disconnecting)
        channel, _ = opened[0]
        channel.connectionLost(Failure(ConnectionDone()))
        _, served = self.connect()
        self.assertFalse(served.disconnecting)
        self.assertEqual(self.site.openChannels, MAX_CONNECTIONS)


class CloseAtOnceTests(SynchronousTestCase):
    """
    A scraper over the cap gives its descriptor back as its port accepts
    it, on the transport that closes at once (L{makeMetricsService}'s
    C{closeAtOnce}); Twisted's own keeps it until the next iteration.
    """

    def refusedAtAccept(self, closeAtOnce: bool) -> bytes:
        """
        What a scraper over a cap of none can read once the port has
        accepted it, with no reactor iteration after.
        """
        from prometheus_client.registry import CollectorRegistry

        reactor = MemoryReactorClock()
        site = MetricsSite(
            MetricsPage(CollectorRegistry()), reactor, TIMEOUT, maxConnections=0
        )
        site.doStart()
        self.addCleanup(site.doStop)
        port = tcp.Port(0, site, interface="127.0.0.1", reactor=reactor)
        port.startListening()
        self.addCleanup(port.connectionLost, Failure(ConnectionDone()))
        if closeAtOnce:
            self.assertTrue(sendAtOnce(port))
        client = socket.create_connection(("127.0.0.1", port.getHost().port))
        self.addCleanup(client.close)
        port.doRead()
        client.setblocking(False)
        try:
            return client.recv(100)
        except BlockingIOError:
            return b"(still open)"

    def test_closedAtOnce(self) -> None:
        self.assertEqual(self.refusedAtAccept(closeAtOnce=True), b"")

    def test_stockWaits(self) -> None:
        self.assertEqual(self.refusedAtAccept(closeAtOnce=False), b"(still open)")
