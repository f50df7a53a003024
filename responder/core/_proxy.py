"""
The PROXY protocol (C{haproxy:} endpoints) as responder needs it: Twisted's
header parsers, behind a wrapper of our own.

Twisted's C{HAProxyProtocolWrapper} lets C{ValueError} and
C{UnicodeDecodeError} out of some malformed v1 headers, so each such
connection logged an "Unhandled Error" traceback; it accepts a 23-digit
port; it does not pass a half-close on, so a client behind the proxy that
half-closed without a request got no answer; and it believes any peer.
L{ProxiedProtocol} refuses every bad header with one rate-limited line per
reason (through the factory's refusal log) and counts it, passes
half-closes on, and with trusted proxies (C{--trusted-proxy}) refuses other
peers at once and admits each connection by the client address its header
reports.

Twisted's parsers live in private modules; they are imported here and
nowhere else.
"""

import re
from ipaddress import ip_address
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IListeningPort,
    IProtocol,
    IProtocolFactory,
    IStreamServerEndpoint,
    ITransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.protocols.haproxy._exceptions import InvalidProxyHeader
from twisted.protocols.haproxy._info import ProxyInfo
from twisted.protocols.haproxy._v1parser import V1Parser
from twisted.protocols.haproxy._v2parser import V2Parser
from twisted.protocols.haproxy._wrapper import HAProxyProtocolWrapper
from twisted.protocols.policies import WrappingFactory
from twisted.python.failure import Failure
from zope.interface import directlyProvides, implementer, providedBy

from ..config import unwrapProxy
from ._address import hostOf
from ._admission import AccessRules
from ._factory import ResponderFactory

PROXY_MALFORMED = "malformed PROXY header"
PROXY_MISSING = "no PROXY header"
PROXY_UNTRUSTED = "not a trusted proxy"

#: A v1 header for TCP, as the specification writes it: addresses of the
#: family named, ports of at most five digits.
_V1_TCP = re.compile(
    rb"PROXY TCP[46] ([0-9A-Fa-f.:]+) ([0-9A-Fa-f.:]+) (\d{1,5}) (\d{1,5})"
)


def _checked(info: ProxyInfo) -> ProxyInfo:
    """
    C{info}, if the header it came from says what the specification allows;
    Twisted's v1 parser takes any text for an address and any integer for
    a port.

    @raise ValueError: if not.
    """
    header = info.header
    if not header.startswith(V1Parser.PROXYSTR) or header.startswith(b"PROXY UNKNOWN"):
        return info
    match = _V1_TCP.fullmatch(header)
    if match is None:
        raise ValueError("not a TCP4 or TCP6 header")
    version = 4 if header[9:10] == b"4" else 6
    for field in match.group(1, 2):
        if ip_address(field.decode("ascii")).version != version:
            raise ValueError("address of the wrong family")
    if any(int(port) > 65535 for port in match.group(3, 4)):
        raise ValueError("port out of range")
    return info


@implementer(IHalfCloseableProtocol)
class ProxiedProtocol(HAProxyProtocolWrapper):
    """
    One connection on a C{haproxy:} endpoint: read the PROXY header, then
    be the transport of the responder protocol behind it.

    Without trusted proxies, that protocol is built when the connection is
    made, for the address that connected (limits apply to the proxy), as
    Twisted does.  With them it is built once the header has been read,
    for the client the header reports; until then the connection has
    C{--timeout} seconds to send its header.
    """

    factory: "ProxyWrappingFactory"
    wrappedProtocol: IProtocol | None  # type: ignore[assignment]
    _headerTimer: IDelayedCall | None = None
    _refused: bool = False

    def makeConnection(self, transport: ITransport) -> None:
        if self.wrappedProtocol is not None:
            super().makeConnection(transport)  # type: ignore[no-untyped-call]
            return
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)
        self.factory.registerProtocol(self)  # type: ignore[no-untyped-call]
        host = self.factory.host
        self._headerTimer = host.clock.callLater(
            host.config.timeout, self._refuse, PROXY_MISSING
        )

    def dataReceived(self, data: bytes) -> None:
        if self._refused:
            return
        if self._proxyInfo is not None:
            assert self.wrappedProtocol is not None
            self.wrappedProtocol.dataReceived(data)
            return
        parser = self._parser
        if parser is None:
            if data.startswith(V2Parser.PREFIX) and len(data) > len(V2Parser.PREFIX):
                parser = V2Parser()
            elif data.startswith(V1Parser.PROXYSTR + b" "):
                parser = V1Parser()
            else:
                # A header cut short before its signature is not worth
                # waiting for: Twisted drops it too.
                self._refuse(PROXY_MISSING)
                return
            self._parser = parser
        try:
            info, remaining = parser.feed(data)
            if info is None:
                return
            self._proxyInfo = _checked(info)
        except (InvalidProxyHeader, ValueError, UnicodeDecodeError):
            self._refuse(PROXY_MALFORMED)
            return
        self._cancelTimer()
        if self.wrappedProtocol is None:
            self.wrappedProtocol = self.factory.wrappedFactory.buildProtocol(
                self.getPeer()
            )
            assert self.wrappedProtocol is not None
            self.wrappedProtocol.makeConnection(cast(ITransport, self))
        if remaining:
            self.wrappedProtocol.dataReceived(remaining)

    def _refuse(self, reason: str) -> None:
        """
        Count and log a connection refused for C{reason}, and close it.
        """
        self._headerTimer = None
        self._refused = True
        assert self.transport is not None
        self.factory.host.proxyRefused(reason, self.transport.getPeer())
        self.transport.loseConnection()

    def _cancelTimer(self) -> None:
        if self._headerTimer is not None and self._headerTimer.active():
            self._headerTimer.cancel()
        self._headerTimer = None

    def _behind(self) -> IHalfCloseableProtocol | None:
        """
        The protocol behind, once the header is read, if it takes half-closes.
        """
        if self._proxyInfo is None or self._refused:
            return None
        return IHalfCloseableProtocol(self.wrappedProtocol, None)

    def readConnectionLost(self) -> None:
        self._halfClosed("readConnectionLost")

    def writeConnectionLost(self) -> None:
        self._halfClosed("writeConnectionLost")

    def _halfClosed(self, event: str) -> None:
        """
        Pass a half-close on to the protocol behind the header, or close if
        there is none to take it.
        """
        behind = self._behind()
        if behind is None:
            self.loseConnection()  # type: ignore[no-untyped-call]
        else:
            getattr(behind, event)()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._cancelTimer()
        if self.wrappedProtocol is not None:
            super().connectionLost(reason)  # type: ignore[no-untyped-call]
        else:
            self.factory.unregisterProtocol(self)  # type: ignore[no-untyped-call]


class _Closing(Protocol):
    """
    A peer that is not a trusted proxy: closed at once, unread.
    """

    def connectionMade(self) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]


class ProxyWrappingFactory(WrappingFactory[ProxiedProtocol]):
    """
    Wrap a L{ResponderFactory}'s connections in L{ProxiedProtocol}s.

    @ivar host: the factory wrapped, which counts and logs refusals.
    """

    protocol = ProxiedProtocol
    noisy = False

    def __init__(self, host: ResponderFactory) -> None:
        super().__init__(host)  # type: ignore[no-untyped-call]
        self.host = host
        trusted = host.config.trustedProxies
        self._trusted = AccessRules(allow=trusted) if trusted else None

    def buildProtocol(self, addr: IAddress | None) -> Protocol:  # type: ignore[override]
        assert addr is not None, "a listening port always passes the peer"
        if self._trusted is None:
            return ProxiedProtocol(self, cast(IProtocol, self.host.buildProtocol(addr)))
        peer = hostOf(addr)
        # A unix socket's permissions say who may connect: its peers are
        # trusted.
        if peer is not None and not self._trusted.permits(peer):
            self.host.proxyRefused(PROXY_UNTRUSTED, addr)
            return _Closing()
        return ProxiedProtocol(self, cast(IProtocol, None))


@implementer(IStreamServerEndpoint)
class ProxyEndpoint:
    """
    An endpoint that speaks the PROXY protocol in front of the one it
    wraps, with L{ProxiedProtocol}.  It serves a L{ResponderFactory} only.
    """

    def __init__(self, wrapped: IStreamServerEndpoint) -> None:
        self.wrapped = wrapped

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        assert isinstance(protocolFactory, ResponderFactory)
        return self.wrapped.listen(ProxyWrappingFactory(protocolFactory))


def serverEndpoint(reactor: object, description: str) -> IStreamServerEndpoint:
    """
    The endpoint C{description} names, as C{serverFromString} makes it, but
    with each C{haproxy:} in front made a L{ProxyEndpoint}: the way every
    endpoint responder serves on is built.
    """
    prefix, rest = unwrapProxy(description)
    endpoint: IStreamServerEndpoint = serverFromString(reactor, rest)
    for _ in range(prefix.count(":")):
        endpoint = ProxyEndpoint(endpoint)
    return endpoint
