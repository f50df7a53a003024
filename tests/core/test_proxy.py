"""
The PROXY protocol wrapper: malformed headers refused with one summarised
line per reason and counted, half-closes passed on, and trusted proxies
whose reported clients the limits apply to.
"""

from ipaddress import ip_network

from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig
from responder.core import (
    PROXY_MALFORMED,
    PROXY_MISSING,
    PROXY_UNTRUSTED,
    ProxyWrappingFactory,
)

from ..support import Harness

RESPONSE = b"This is the response\0"
PROXY = IPv4Address("TCP", "10.0.0.2", 50000)
HEADER = b"PROXY TCP4 198.51.100.7 10.0.0.1 40000 1984\r\n"

#: Headers Twisted's parser accepts or raises on; each must be refused
#: without a traceback.
MALFORMED = [
    b"PROXY TCP4 1.2.3.4 5.6.7.8 12345678901234567890123 80\r\n",  # 23 digits
    b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 80\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 x 80\r\n",  # ValueError in Twisted
    b"PROXY TCP4 \xff\xfe 1.2.3.4 1 2\r\n",  # UnicodeDecodeError in Twisted
    b"PROXY TCP4 not-an-ip 1.2.3.4 1 2\r\n",
    b"PROXY TCP4 ::1 1.2.3.4 1 2\r\n",
    b"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 80\r\n",
    b"PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.4\r\n",
    b"PROXY " + b"x" * 200,
]


class Proxied:
    """
    A harness's factory behind L{ProxyWrappingFactory}, and connections to it.
    """

    def __init__(self, config: ResponderConfig | None = None) -> None:
        self.harness = Harness(config)
        self.wrapper = ProxyWrappingFactory(self.harness.factory)

    def connect(self, peer: IAddress = PROXY) -> tuple[Protocol, StringTransport]:
        protocol = self.wrapper.buildProtocol(peer)
        transport = StringTransport(peerAddress=peer)
        protocol.makeConnection(transport)
        return protocol, transport


class MalformedHeaderTests(SynchronousTestCase):
    def test_each_refused_and_counted(self) -> None:
        """
        Every malformed header closes its connection, counted, with no
        exception out of C{dataReceived} (Twisted's wrapper raised for
        some, which logged a traceback per connection) and nothing logged
        as a request.
        """
        proxied = Proxied()
        for header in MALFORMED:
            protocol, transport = proxied.connect()
            protocol.dataReceived(header + b"hello\0")
            self.assertTrue(transport.disconnecting, header)
            self.assertEqual(transport.value(), b"", header)
        stats = proxied.harness.factory.stats
        self.assertEqual((stats.refusedByProxy, stats.requests), (len(MALFORMED), 0))

    def test_flood_logs_one_line_per_reason(self) -> None:
        """
        3,000 bad connections (and 1,000 that closed before their header
        was complete, which are not refusals): one line at once, then one
        summary per reason every 10 seconds.
        """
        proxied = Proxied()
        for i in range(1000):
            for data in (MALFORMED[i % len(MALFORMED)], b"GET / HTTP/1.0\r\n\r\n"):
                protocol, _ = proxied.connect()
                protocol.dataReceived(data)
            protocol, _ = proxied.connect()
            protocol.dataReceived(MALFORMED[0][:20])
            protocol.connectionLost()
        proxied.harness.clock.advance(10)
        lines = proxied.harness.logged()
        self.assertEqual(len(lines), 3, lines)
        self.assertIn(PROXY_MALFORMED, lines[0])
        self.assertIn(
            f"refused 999 more connections in the last 10 s: {PROXY_MALFORMED}", lines
        )
        self.assertIn(
            f"refused 1000 more connections in the last 10 s: {PROXY_MISSING}", lines
        )

    def test_good_header_answered(self) -> None:
        proxied = Proxied()
        protocol, transport = proxied.connect()
        protocol.dataReceived(HEADER + b"hello\0")
        self.assertEqual(transport.value(), RESPONSE)
        self.assertEqual(proxied.harness.factory.stats.refusedByProxy, 0)

    def test_header_in_pieces(self) -> None:
        proxied = Proxied()
        protocol, transport = proxied.connect()
        for piece in (HEADER[:10], HEADER[10:30], HEADER[30:] + b"hi\0"):
            protocol.dataReceived(piece)
        self.assertEqual(transport.value(), RESPONSE)


class HalfCloseTests(SynchronousTestCase):
    def test_half_close_after_header(self) -> None:
        """
        A client behind the proxy that sends nothing and half-closes gets
        the answer to an empty request, as without a proxy.
        """
        proxied = Proxied()
        protocol, transport = proxied.connect()
        protocol.dataReceived(HEADER)
        protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertEqual(transport.value(), RESPONSE)
        self.assertTrue(transport.disconnecting)

    def test_half_close_before_header(self) -> None:
        proxied = Proxied()
        protocol, transport = proxied.connect()
        protocol.dataReceived(HEADER[:12])
        protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)


class TrustedProxyTests(SynchronousTestCase):
    def config(self, **kwargs: object) -> ResponderConfig:
        return ResponderConfig(
            trustedProxies=(ip_network("10.0.0.0/8"),),
            **kwargs,  # type: ignore[arg-type]
        )

    def test_untrusted_peer_refused(self) -> None:
        proxied = Proxied(self.config())
        protocol, transport = proxied.connect(IPv4Address("TCP", "192.0.2.9", 1))
        self.assertTrue(transport.disconnecting)
        protocol.dataReceived(HEADER + b"hello\0")
        self.assertEqual(transport.value(), b"")
        self.assertEqual(proxied.harness.factory.stats.refusedByProxy, 1)
        [line] = proxied.harness.logged()
        self.assertIn(f"192.0.2.9:1: {PROXY_UNTRUSTED}", line)

    def test_unix_peer_trusted(self) -> None:
        proxied = Proxied(self.config())
        protocol, transport = proxied.connect(UNIXAddress(None))
        protocol.dataReceived(HEADER + b"hello\0")
        self.assertEqual(transport.value(), RESPONSE)

    def test_access_rules_apply_to_the_client(self) -> None:
        """
        C{--deny} acts on the client the trusted proxy reports, not on the
        proxy.
        """
        proxied = Proxied(self.config(deny=(ip_network("198.51.100.0/24"),)))
        protocol, transport = proxied.connect()
        protocol.dataReceived(HEADER + b"hello\0")
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        protocol, transport = proxied.connect()
        protocol.dataReceived(HEADER.replace(b"198.51.100.7", b"203.0.113.1") + b"x\0")
        self.assertEqual(transport.value(), RESPONSE)
        stats = proxied.harness.factory.stats
        self.assertEqual((stats.refusedByAccess, stats.answered), (1, 1))

    def test_per_ip_limit_applies_to_the_client(self) -> None:
        """
        Two clients behind one proxy each get their own count; a second
        connection from the same client is over C{--max-per-ip 1}.
        """
        proxied = Proxied(self.config(maxPerIP=1))
        transports = []
        for client in (b"198.51.100.7", b"198.51.100.8", b"198.51.100.7"):
            protocol, transport = proxied.connect()
            protocol.dataReceived(HEADER.replace(b"198.51.100.7", client))
            transports.append(transport)
        self.assertEqual([t.disconnecting for t in transports], [False, False, True])
        self.assertEqual(proxied.harness.factory.stats.refusedByLimit, 1)

    def test_header_deadline(self) -> None:
        """
        A trusted proxy's connection that sends no header in C{--timeout}
        seconds is closed, and counted.
        """
        proxied = Proxied(self.config(timeout=5.0))
        protocol, transport = proxied.connect()
        protocol.dataReceived(HEADER[:12])
        proxied.harness.clock.advance(5)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(proxied.harness.factory.stats.refusedByProxy, 1)
        protocol.connectionLost()
        # Only the refusal log's summary timer is left.
        [call] = proxied.harness.clock.getDelayedCalls()
        self.assertIn("_summarise", repr(call))
