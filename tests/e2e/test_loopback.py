"""
responder over real sockets on loopback, one test per transport: TCP over
IPv4 and IPv6, unix sockets, TLS, and the PROXY protocol (v1 and v2).
These run the reactor through pytest-twisted.
"""

import math
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import pytest_twisted
from twisted.internet import defer, error, tcp
from twisted.internet.defer import maybeDeferred
from twisted.internet.endpoints import (
    TCP6ClientEndpoint,
    serverFromString,
)
from twisted.internet.interfaces import (
    IListeningPort,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import ILogObserver, LogEvent, Logger, formatEvent

from responder import ResponderConfig, ResponderFactory, ask
from responder.core import SendAtOnceServer, serverEndpoint

from ..tls import writeCertificate

RESPONSE = b"This is the response\0"


class Server:
    """
    A L{ResponderFactory} listening on a real endpoint, with its log kept.
    """

    def __init__(self, description: str, config: ResponderConfig | None = None):
        self.events: list[LogEvent] = []
        log = Logger(
            namespace="responder", observer=cast(ILogObserver, self.events.append)
        )
        self.factory = ResponderFactory(config, log=log)
        self.description = description
        self.port: IListeningPort | None = None

    async def start(self) -> IListeningPort:
        from twisted.internet import reactor

        # Built as responder builds its endpoints: haproxy: by its own wrapper.
        self.port = await serverEndpoint(reactor, self.description).listen(self.factory)
        # As the service does: the transport TCP connections get.
        self.factory.listeningOn(self.port, math.inf)
        return self.port

    async def request(
        self,
        client: str | IStreamClientEndpoint,
        request: bytes,
        halfClose: bool = False,
    ) -> bytes:
        from twisted.internet import reactor

        return await ask(reactor, client, request, halfClose=halfClose)

    def logged(self) -> list[str]:
        return [formatEvent(event) for event in self.events]


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.port is not None:
            pytest_twisted.blockon(maybeDeferred(server.port.stopListening))


@pytest_twisted.ensureDeferred
async def test_tcp(servers: list[Server]) -> None:
    server = Server("tcp:0:interface=127.0.0.1")
    servers.append(server)
    port = (await server.start()).getHost().port  # type: ignore[attr-defined]
    response = await server.request(f"tcp:127.0.0.1:{port}", b"hello\0")
    assert response == RESPONSE
    [line] = server.logged()
    assert line.startswith("127.0.0.1:") and line.endswith(" hello")


@pytest_twisted.ensureDeferred
async def test_stock_transport(servers: list[Server]) -> None:
    """
    With C{stockTransport}, connections get Twisted's own transport, and
    are answered as with the one that sends at once (which every other
    test here uses).
    """
    server = Server("tcp:0:interface=127.0.0.1", ResponderConfig(stockTransport=True))
    servers.append(server)
    port = await server.start()
    assert port.transport is tcp.Server  # type: ignore[attr-defined]
    address = f"tcp:127.0.0.1:{port.getHost().port}"  # type: ignore[attr-defined]
    assert await server.request(address, b"stock\0") == RESPONSE
    fast = Server("tcp:0:interface=127.0.0.1")
    servers.append(fast)
    assert (await fast.start()).transport is SendAtOnceServer  # type: ignore[attr-defined]


@pytest_twisted.ensureDeferred
async def test_half_close_without_data(servers: list[Server]) -> None:
    """
    A client that sends nothing and shuts down its write side still gets
    the response.
    """
    server = Server("tcp:0:interface=127.0.0.1")
    servers.append(server)
    port = (await server.start()).getHost().port  # type: ignore[attr-defined]
    response = await server.request(f"tcp:127.0.0.1:{port}", b"", halfClose=True)
    assert response == RESPONSE


def _hasIPv6Loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _hasIPv6Loopback(), reason="no IPv6 loopback")
@pytest_twisted.ensureDeferred
async def test_tcp6(servers: list[Server]) -> None:
    server = Server(r"tcp6:0:interface=\:\:1")
    servers.append(server)
    port = (await server.start()).getHost().port  # type: ignore[attr-defined]
    from twisted.internet import reactor

    response = await server.request(TCP6ClientEndpoint(reactor, "::1", port), b"six\0")
    assert response == RESPONSE
    [line] = server.logged()
    assert line.startswith("[::1]:") and line.endswith(" six")


@pytest_twisted.ensureDeferred
async def test_unix(servers: list[Server], tmp_path: Path) -> None:
    path = tmp_path / "responder.sock"
    server = Server(f"unix:{path}")
    servers.append(server)
    await server.start()
    response = await server.request(f"unix:{path}", b"local\0")
    assert response == RESPONSE
    assert server.logged() == ["unix:(unnamed) local"]


@pytest_twisted.ensureDeferred
async def test_tls(servers: list[Server], tmp_path: Path) -> None:
    """
    TLS through the C{ssl:} endpoint, checked against a throwaway
    certificate made for the test.
    """
    key, cert = writeCertificate(tmp_path)
    server = Server(f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}")
    servers.append(server)
    port = (await server.start()).getHost().port  # type: ignore[attr-defined]
    client = f"tls:127.0.0.1:{port}:trustRoots={cert.parent}"
    response = await server.request(client, b"secret\0")
    assert response == RESPONSE
    [line] = server.logged()
    assert line.endswith(" secret")


@pytest_twisted.ensureDeferred
async def test_tls_keep_alive_closes_politely(
    servers: list[Server], tmp_path: Path
) -> None:
    """
    A keep-alive connection over TLS closes cleanly at its idle timeout.
    TLS does not close while a producer is registered, so it used to be
    aborted 5 s later, its close never sent.
    """
    key, cert = writeCertificate(tmp_path)
    server = Server(
        f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
        ResponderConfig(keepAlive=True, timeout=0.3),
    )
    servers.append(server)
    port = (await server.start()).getHost().port  # type: ignore[attr-defined]
    client = f"tls:127.0.0.1:{port}:trustRoots={cert.parent}"
    started = time.monotonic()
    response = await server.request(client, b"one\0two\0")
    assert response == RESPONSE * 2
    assert time.monotonic() - started < 3
    assert (server.factory.stats.timedOut, server.factory.stats.aborted) == (1, 0)


@pytest_twisted.ensureDeferred
async def test_proxy_protocol_v1(servers: list[Server]) -> None:
    """
    Behind a proxy speaking PROXY v1, the logged peer is the real client.
    """
    server = Server("haproxy:tcp:0:interface=127.0.0.1")
    servers.append(server)
    port = (await server.start()).getHost().port  # type: ignore[attr-defined]
    header = f"PROXY TCP4 203.0.113.9 127.0.0.1 5555 {port}\r\n".encode()
    response = await server.request(f"tcp:127.0.0.1:{port}", header + b"hello\0")
    assert response == RESPONSE
    assert server.logged() == ["203.0.113.9:5555 hello"]


@pytest_twisted.ensureDeferred
async def test_proxy_protocol_half_close(servers: list[Server]) -> None:
    """
    Behind a proxy, a client that sends its header and half-closes without
    a request gets the answer to an empty request, as without a proxy; and
    as without a proxy, sending nothing makes it a probe, counted rather
    than logged.
    """
    server = Server("haproxy:tcp:0:interface=127.0.0.1")
    servers.append(server)
    port = (await server.start()).getHost().port  # type: ignore[attr-defined]
    header = f"PROXY TCP4 203.0.113.9 127.0.0.1 5555 {port}\r\n".encode()
    response = await server.request(f"tcp:127.0.0.1:{port}", header, halfClose=True)
    assert response == RESPONSE
    assert server.logged() == []
    assert server.factory.stats.probes == 1


@pytest_twisted.ensureDeferred
async def test_proxy_protocol_v2(servers: list[Server]) -> None:
    """
    The binary PROXY v2 header, here for an IPv6 client.
    """
    server = Server("haproxy:tcp:0:interface=127.0.0.1")
    servers.append(server)
    port = (await server.start()).getHost().port  # type: ignore[attr-defined]
    addresses = (
        socket.inet_pton(socket.AF_INET6, "2001:db8::7")
        + socket.inet_pton(socket.AF_INET6, "::1")
        + struct.pack("!HH", 6000, port)
    )
    header = (
        b"\r\n\r\n\x00\r\nQUIT\n"
        + b"\x21\x21"  # version 2, PROXY; TCP over IPv6
        + struct.pack("!H", len(addresses))
        + addresses
    )
    response = await server.request(f"tcp:127.0.0.1:{port}", header + b"v2\0")
    assert response == RESPONSE
    assert server.logged() == ["[2001:db8::7]:6000 v2"]


@pytest_twisted.ensureDeferred
async def test_ask_times_out(servers: list[Server]) -> None:
    """
    L{ask} gives up after its timeout and aborts the connection, here
    against a listener that accepts but never answers.
    """
    from twisted.internet import reactor

    silent = await serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(
        Factory.forProtocol(Protocol)
    )
    try:
        port = silent.getHost().port
        with pytest.raises(defer.TimeoutError):
            await ask(reactor, f"tcp:127.0.0.1:{port}", b"hello?", timeout=0.2)
    finally:
        await silent.stopListening()


@pytest_twisted.ensureDeferred
async def test_ask_connection_refused(servers: list[Server]) -> None:
    from twisted.internet import reactor

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(error.ConnectionRefusedError):
        await ask(reactor, f"tcp:127.0.0.1:{port}", b"anyone?")
