"""
The wire rules of L{ResponderProtocol}, one by one, over a
L{StringTransport}: what is answered, when, and what is logged.
"""

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IAddress
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig

from ..support import PEER, Harness

RESPONSE = b"This is the response\0"


class WireTests(SynchronousTestCase):
    """
    A request is answered on the first data, with the seed's bytes.
    """

    def setUp(self) -> None:
        self.harness = Harness()

    def test_response_is_the_seeds_21_bytes(self) -> None:
        """
        The default response is C{This is the response} plus its NUL, as
        the seed's C{strlen(response) + 1} bytes.
        """
        self.assertEqual(len(RESPONSE), 21)
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"hello\0")
        self.assertEqual(transport.value(), RESPONSE)

    def test_request_in_one_chunk(self) -> None:
        """
        A whole request in one chunk is logged with the peer and answered,
        and the connection is closed politely (not aborted).
        """
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"hello\0")
        self.assertEqual(transport.value(), RESPONSE)
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected, "aborted instead of closed")
        self.assertEqual(self.harness.logged(), ["192.0.2.7:40000 hello"])

    def test_request_without_nul(self) -> None:
        """
        A request needs no NUL: the first chunk is the request.
        """
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"GET / HTTP/1.0\r\n\r\n")
        self.assertEqual(transport.value(), RESPONSE)
        self.assertEqual(
            self.harness.logged(), ["192.0.2.7:40000 GET / HTTP/1.0\\r\\n\\r\\n"]
        )

    def test_request_split_across_chunks(self) -> None:
        """
        Like the seed's single C{recv}, the first chunk is answered and the
        rest of a split request is ignored: one response, one log line.
        """
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"hel")
        protocol.dataReceived(b"lo\0")
        self.assertEqual(transport.value(), RESPONSE)
        self.assertEqual(self.harness.logged(), ["192.0.2.7:40000 hel"])

    def test_data_after_answer_ignored(self) -> None:
        """
        Later chunks, even whole requests, get nothing more.
        """
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"one\0")
        protocol.dataReceived(b"two\0")
        self.assertEqual(transport.value(), RESPONSE)
        self.assertEqual(self.harness.factory.stats.requests, 1)

    def test_nul_inside_request(self) -> None:
        """
        The request ends at the first NUL, as C{printf("%s")} in the seed.
        """
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"ab\0cd\0")
        self.assertEqual(self.harness.logged(), ["192.0.2.7:40000 ab"])
        self.assertEqual(transport.value(), RESPONSE)

    def test_request_over_1024_bytes(self) -> None:
        """
        Only the first 1024 bytes are kept, like the seed's buffer.
        """
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"x" * 5000)
        self.assertEqual(self.harness.logged(), ["192.0.2.7:40000 " + "x" * 1024])
        self.assertEqual(transport.value(), RESPONSE)

    def test_nul_after_limit_is_not_seen(self) -> None:
        """
        The request is cut to C{maxRequest} before looking for the NUL, as
        the seed's C{recv} into 1024 bytes does.
        """
        protocol, _ = self.harness.connect()
        protocol.dataReceived(b"y" * 1030 + b"\0")
        self.assertEqual(self.harness.logged(), ["192.0.2.7:40000 " + "y" * 1024])

    def test_max_request_configurable(self) -> None:
        """
        C{maxRequest} sets how much of a request is kept.
        """
        harness = Harness(ResponderConfig(maxRequest=4))
        protocol, _ = harness.connect()
        protocol.dataReceived(b"abcdefgh")
        self.assertEqual(harness.logged(), ["192.0.2.7:40000 abcd"])

    def test_delimiter(self) -> None:
        """
        Another C{delimiter} cuts the request where a NUL would; a newline
        also takes the CR before it.
        """
        for delimiter, data, expected in [
            (b"\n", b"PING\r\nmore\n", "PING"),
            (b"\n", b"a\0b\n", "a\\x00b"),
            (b";", b"a;b;c", "a"),
            (b";", b"a\r;", "a\\r"),
        ]:
            harness = Harness(ResponderConfig(delimiter=delimiter))
            protocol, transport = harness.connect()
            protocol.dataReceived(data)
            self.assertEqual(harness.logged(), [f"192.0.2.7:40000 {expected}"])
            self.assertEqual(transport.value(), b"This is the response\0")

    def test_custom_response(self) -> None:
        """
        The configured response is sent with a NUL appended.
        """
        harness = Harness(ResponderConfig(response=b"pong"))
        protocol, transport = harness.connect()
        protocol.dataReceived(b"ping")
        self.assertEqual(transport.value(), b"pong\0")

    def test_empty_half_close(self) -> None:
        """
        A client that half-closes without sending gets the response, as the
        seed answers after C{recv} returns 0; but it sent no request: it is
        a connect-only probe, counted and not logged.
        """
        protocol, transport = self.harness.connect()
        protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertEqual(transport.value(), RESPONSE)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(self.harness.logged(), [])
        stats = self.harness.factory.stats
        self.assertEqual((stats.probes, stats.requests), (1, 0))

    def test_empty_request_is_a_request(self) -> None:
        """
        A client that sends anything, even only a NUL (an empty request),
        is a request, logged, and no probe.
        """
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"\0")
        protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertEqual(transport.value(), RESPONSE)
        self.assertEqual(self.harness.logged(), ["192.0.2.7:40000 "])
        stats = self.harness.factory.stats
        self.assertEqual((stats.probes, stats.requests), (0, 1))

    def test_half_close_after_request(self) -> None:
        """
        A half-close after the request changes nothing: one response.
        """
        protocol, transport = self.harness.connect()
        protocol.dataReceived(b"hi")
        protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertEqual(transport.value(), RESPONSE)
        self.assertEqual(self.harness.factory.stats.requests, 1)

    def test_write_side_lost_closes(self) -> None:
        """
        When the client can no longer be written to, the connection closes.
        """
        protocol, transport = self.harness.connect()
        protocol.writeConnectionLost()  # type: ignore[attr-defined]
        self.assertTrue(transport.disconnecting)

    def test_disconnect_without_data(self) -> None:
        """
        A client that disconnects without sending costs nothing: no write,
        no log line, and the connection is forgotten.
        """
        protocol, transport = self.harness.connect()
        protocol.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.harness.events, [])
        self.assertEqual(self.harness.factory.connections, set())

    def test_quiet(self) -> None:
        """
        With C{quiet}, requests are answered and counted but not logged.
        """
        harness = Harness(ResponderConfig(quiet=True))
        protocol, transport = harness.connect()
        protocol.dataReceived(b"shh")
        self.assertEqual(transport.value(), RESPONSE)
        self.assertEqual(harness.events, [])
        self.assertEqual(harness.factory.stats.requests, 1)


class LogTests(SynchronousTestCase):
    """
    Requests are untrusted: what reaches the log is escaped, on one line.
    """

    def requestLogged(self, request: bytes, peer: IAddress = PEER) -> str:
        harness = Harness()
        protocol, _ = harness.connect(peer)
        protocol.dataReceived(request)
        [line] = harness.logged()
        event = harness.events[0]
        self.assertEqual(event["log_namespace"], "responder")
        return line

    def test_forged_log_line(self) -> None:
        """
        CR and LF cannot start a second log line.
        """
        line = self.requestLogged(b"ok\r\n2026-01-01T00:00:00+0000 [-] forged")
        self.assertEqual(
            line, "192.0.2.7:40000 ok\\r\\n2026-01-01T00:00:00+0000 [-] forged"
        )

    def test_terminal_escapes(self) -> None:
        """
        ESC sequences and BEL are shown, not sent to the operator's terminal.
        """
        line = self.requestLogged(b"\x1b[2J\x1b]0;pwned\x07")
        self.assertEqual(line, "192.0.2.7:40000 \\x1b[2J\\x1b]0;pwned\\x07")

    def test_invalid_utf8(self) -> None:
        """
        Bytes that are not UTF-8 are shown as C{\\xNN}; valid UTF-8 stays
        readable.
        """
        line = self.requestLogged(b"caf\xc3\xa9 \xff\xfe")
        self.assertEqual(line, "192.0.2.7:40000 café \\xff\\xfe")

    def test_binary(self) -> None:
        """
        Every byte value comes out printable.
        """
        line = self.requestLogged(bytes(range(1, 256)))
        self.assertTrue(line.isprintable(), line)

    def test_ipv6_peer(self) -> None:
        """
        IPv6 peers are shown in brackets, as in URLs.
        """
        line = self.requestLogged(b"x", IPv6Address("TCP", "::1", 5000))
        self.assertEqual(line, "[::1]:5000 x")

    def test_ipv4_mapped_peer(self) -> None:
        """
        An IPv4 client of a dual-stack C{tcp6:} port is shown by its IPv4
        address, not as C{[::ffff:7f00:1]}.
        """
        line = self.requestLogged(b"x", IPv6Address("TCP", "::ffff:127.0.0.1", 5000))
        self.assertEqual(line, "127.0.0.1:5000 x")

    def test_client_controlled_peers_escaped(self) -> None:
        """
        What a client controls in its address is escaped like a request:
        the name a unix client bound to, and the address a PROXY header
        claims, which need not be an address at all.
        """
        for peer, expected in [
            (UNIXAddress(b"/tmp/c\x1b[31m\nFAKE 1.2.3.4:1 forged"), "unix:/tmp/c"),
            (UNIXAddress(b"\0abstract\x07"), "unix:\\x00abstract\\x07"),
            (IPv4Address("TCP", "1.2.3.4\x1b[31m\nFORGED", 1), "1.2.3.4\\x1b"),
            (IPv6Address("TCP", "x\u2028y", 1), "x\\u2028y:1"),
            # ipaddress takes any text as an IPv6 scope.
            (IPv6Address("TCP", "fe80::1%\x1b[2K\rX", 1), "[fe80::1%\\x1b[2K\\rX]:1"),
        ]:
            line = self.requestLogged(b"x", peer)
            self.assertTrue(line.isprintable(), line)
            self.assertTrue(line.startswith(expected), line)

    def test_unix_peer(self) -> None:
        """
        Unix socket clients are usually unnamed.
        """
        line = self.requestLogged(b"x", UNIXAddress(None))
        self.assertEqual(line, "unix:(unnamed) x")


class StatsTests(SynchronousTestCase):
    """
    The counters behind the metrics endpoint.
    """

    def test_counts(self) -> None:
        harness = Harness()
        stats = harness.factory.stats
        protocol, _ = harness.connect()
        protocol.dataReceived(b"hello\0")
        protocol.dataReceived(b"ignored")
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(
            (stats.connections, stats.requests, stats.bytesIn, stats.bytesOut),
            (1, 1, 13, 21),
        )
        self.assertEqual(stats.reset, 0)

    def test_reset_before_answer(self) -> None:
        """
        A client that resets without sending a byte is a connect-only probe,
        not a reset; a clean close after the answer is neither.
        """
        harness = Harness()
        protocol, _ = harness.connect()
        protocol.connectionLost(Failure(ConnectionLost()))
        answered, _ = harness.connect()
        answered.dataReceived(b"x")
        answered.connectionLost(Failure(ConnectionLost()))
        stats = harness.factory.stats
        self.assertEqual((stats.reset, stats.probes, stats.requests), (0, 1, 1))
        self.assertEqual(harness.logged(), ["192.0.2.7:40000 x"])
