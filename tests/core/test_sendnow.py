"""
L{SendAtOnceServer} sends and closes at once, and falls back to Twisted's
own path whenever that is not safe; and the Twisted internals it relies on
behave as it assumes, so that an upgrade that changes them fails here.
"""

import socket
import tempfile
from pathlib import Path
from select import EPOLLIN
from typing import Any

from twisted.internet import ssl, tcp
from twisted.internet.epollreactor import EPollReactor
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.interfaces import IPushProducer, ITransport
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.testing import MemoryReactor, MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import directlyProvides, implementer

from responder.core import SendAtOnceServer, sendAtOnce

from ..tls import writeCertificate


class Recorder(Protocol):
    """
    Note how the connection ended.
    """

    lost: Failure | None = None

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost = reason


@implementer(IPushProducer)
class Producer:
    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class SendRecorder:
    """
    A socket, but that notes the flags of every C{send}.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.flags: list[int] = []

    def send(self, data: bytes, flags: int = 0) -> int:
        self.flags.append(flags)
        return self.sock.send(data, flags)

    def __getattr__(self, name: str) -> object:
        return getattr(self.sock, name)


def readToEnd(client: socket.socket) -> bytes:
    """
    Everything C{client} receives until end of file.
    """
    chunks = []
    while chunk := client.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


class Connected:
    """
    A connected loopback socket pair: the server's end in a transport of
    C{kind} on a L{MemoryReactor}, the client's end a plain socket.
    """

    def __init__(
        self, kind: type[tcp.Server], reactor: MemoryReactor | None = None
    ) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        self.client = socket.create_connection(listener.getsockname(), timeout=5)
        accepted, addr = listener.accept()
        listener.close()
        accepted.setblocking(False)
        self.reactor = MemoryReactor() if reactor is None else reactor
        self.protocol = Recorder()
        port = tcp.Port(0, Factory(), reactor=self.reactor)
        self.transport = kind(accepted, self.protocol, addr, port, 1, self.reactor)
        self.protocol.makeConnection(self.transport)

    def received(self) -> bytes:
        """
        What the client can read now, without waiting for more.
        """
        self.client.setblocking(False)
        try:
            return self.client.recv(1 << 20)
        except BlockingIOError:
            return b"(nothing)"

    def close(self) -> None:
        self.client.close()
        if self.protocol.lost is None:
            self.transport.connectionLost(Failure(ConnectionDone()))


class TwistedInternalsTests(SynchronousTestCase):
    """
    What L{SendAtOnceServer} assumes of Twisted.
    """

    def test_portTransport(self) -> None:
        """
        A TCP port gives each connection an instance of its C{transport}
        class, Twisted's C{tcp.Server} unless told otherwise.
        """
        self.assertIs(tcp.Port.transport, tcp.Server)

    def test_shutdownBeforeClose(self) -> None:
        """
        Whether C{shutdown(2)} precedes C{close} is C{_shouldShutdown}, true
        for Twisted's transport and false for L{SendAtOnceServer}.
        """
        self.assertIs(tcp.Server._shouldShutdown, True)
        self.assertIs(SendAtOnceServer._shouldShutdown, False)
        connected = Connected(SendAtOnceServer)
        self.addCleanup(connected.close)
        calls: list[str] = []
        skt = connected.transport.socket

        class Watched:
            def shutdown(self, how: int) -> None:
                calls.append("shutdown")

            def close(self) -> None:
                calls.append("close")
                skt.close()

        connected.transport.socket = Watched()  # type: ignore[assignment]
        connected.transport.loseConnection()
        self.assertEqual(calls, ["close"])
        connected.client.setblocking(True)
        self.assertEqual(connected.client.recv(100), b"")

    def test_stockWriteBuffers(self) -> None:
        """
        Twisted's own C{write} sends nothing at once: it buffers the data
        (in C{_tempDataBuffer}, counted by C{_tempDataLen}) and registers
        the socket for writing, which is the cost sending at once avoids.
        """
        connected = Connected(tcp.Server)
        self.addCleanup(connected.close)
        transport = connected.transport
        self.assertEqual((transport.dataBuffer, transport.offset), (b"", 0))
        transport.write(b"answer")
        self.assertEqual(transport._tempDataLen, 6)
        self.assertIn(transport, connected.reactor.writers)
        self.assertEqual(connected.received(), b"(nothing)")

    def test_stockLoseConnectionWaits(self) -> None:
        """
        Twisted's own C{loseConnection} waits for the reactor to find the
        socket writable; C{connectionLost(CONNECTION_DONE)} is what then
        closes it, with an orderly shutdown.
        """
        connected = Connected(tcp.Server)
        self.addCleanup(connected.close)
        connected.transport.loseConnection()
        self.assertIsNone(connected.protocol.lost)
        self.assertIn(connected.transport, connected.reactor.writers)
        self.assertTrue(connected.transport.disconnecting)

    def test_closedAlike(self) -> None:
        """
        A close at once leaves the transport as Twisted's own clean close
        does, once the reactor has found the socket writable and called
        C{connectionLost}: the same attributes, with the same values, and
        out of the reactor; a Twisted whose close changes one more fails
        this test.
        """
        ended: list[tcp.Server] = []
        for kind in (tcp.Server, SendAtOnceServer):
            connected = Connected(kind)
            self.addCleanup(connected.close)
            transport = connected.transport
            transport.startReading()
            transport.loseConnection()
            if kind is tcp.Server:
                why = transport.doWrite()
                transport.connectionLost(Failure(why))
            self.assertNotIn(transport, connected.reactor.readers)
            self.assertNotIn(transport, connected.reactor.writers)
            assert connected.protocol.lost is not None
            self.assertTrue(connected.protocol.lost.check(ConnectionDone))
            ended.append(transport)
        stock, fast = ended
        names = set(vars(stock)) | set(vars(fast))
        # Less what two connections cannot share (peer, port, reactor), the
        # names made when asked, and the transport's record of registrations.
        names -= {"client", "server", "reactor", "logstr", "repstr"}
        names -= {"_reading", "_writing"}
        missing = object()
        for name in names:
            self.assertEqual(
                getattr(fast, name, missing), getattr(stock, name, missing), name
            )
        self.assertFalse(hasattr(fast, "protocol"))


class SendAtOnceTests(SynchronousTestCase):
    """
    L{SendAtOnceServer} sends and closes at once when it can.
    """

    def setUp(self) -> None:
        self.connected = Connected(SendAtOnceServer)
        self.addCleanup(self.connected.close)
        self.transport = self.connected.transport

    def test_writeSendsAtOnce(self) -> None:
        """
        With nothing buffered, a write is sent at once, and the socket is
        not registered for writing.
        """
        self.transport.write(b"answer")
        self.assertEqual(self.connected.received(), b"answer")
        self.assertNotIn(self.transport, self.connected.reactor.writers)

    def test_fullSocketBuffers(self) -> None:
        """
        What the socket does not take is buffered, and later writes queue
        behind it, in order, as Twisted's own write does.
        """
        self.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        big = b"x" * (4 << 20)
        self.transport.write(big)
        buffered = len(self.transport.dataBuffer) + self.transport._tempDataLen
        self.assertGreater(buffered, 0)
        self.assertIn(self.transport, self.connected.reactor.writers)
        self.transport.write(b"end")
        self.assertEqual(self.transport._tempDataBuffer[-1], b"end")

    def test_resetPeerBuffers(self) -> None:
        """
        A failed send leaves the data to Twisted's C{doWrite}, which meets
        the same error and reports the lost connection.
        """
        self.connected.client.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0"
        )
        self.connected.client.close()
        self.transport.write(b"answer")
        self.assertIn(self.transport, self.connected.reactor.writers)
        self.assertIsNotNone(self.transport.doWrite())

    def test_startTLS(self) -> None:
        """
        Once TLS is started on the transport itself, writes go through it,
        never raw to the socket.
        """
        with tempfile.TemporaryDirectory() as folder:
            key, certificate = writeCertificate(Path(folder))
            options = ssl.DefaultOpenSSLContextFactory(str(key), str(certificate))
        self.transport.startTLS(options)
        self.transport.write(b"answer")
        self.assertNotIn(b"answer", self.connected.received())

    def test_loseConnectionAtOnce(self) -> None:
        """
        With nothing left to send, C{loseConnection} closes at once: the
        protocol hears of a clean close, and the client reads the answer,
        then end of file.
        """
        self.transport.write(b"answer")
        self.transport.loseConnection()
        assert self.connected.protocol.lost is not None
        self.assertTrue(self.connected.protocol.lost.check(ConnectionDone))
        self.connected.client.setblocking(True)
        self.assertEqual(self.connected.client.recv(100), b"answer")
        self.assertEqual(self.connected.client.recv(100), b"")
        self.assertNotIn(self.transport, self.connected.reactor.readers)

    def test_closingHoldsTheSegmentForTheFin(self) -> None:
        """
        Once the protocol is closing, a write is sent with C{MSG_MORE}, so
        that the close that follows puts the FIN in the same segment; the
        client reads everything, then end of file.  Before, writes are
        sent plainly.
        """
        recorder = SendRecorder(self.transport.socket)
        self.transport.socket = recorder  # type: ignore[assignment]
        self.transport.write(b"greeting ")
        self.connected.protocol.closing = True  # type: ignore[attr-defined]
        self.transport.write(b"answer")
        self.transport.loseConnection()
        self.assertEqual(recorder.flags, [0, getattr(socket, "MSG_MORE", 0)])
        self.connected.client.setblocking(True)
        self.assertEqual(readToEnd(self.connected.client), b"greeting answer")

    def test_loseConnectionWaitsForBuffer(self) -> None:
        """
        With data still buffered, C{loseConnection} waits for it to be
        sent, as Twisted's does.
        """
        self.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        self.transport.write(b"x" * (4 << 20))
        self.transport.loseConnection()
        self.assertIsNone(self.connected.protocol.lost)
        self.assertTrue(self.transport.disconnecting)

    def test_loseConnectionWaitsForProducer(self) -> None:
        """
        A registered producer holds the close back, as with Twisted's
        transport: it closes once the producer is done.
        """
        self.transport.registerProducer(Producer(), True)
        self.transport.loseConnection()
        self.assertIsNone(self.connected.protocol.lost)
        self.assertTrue(self.transport.disconnecting)

    def test_afterHalfClose(self) -> None:
        """
        Once the write side is closed, writes are dropped, as by Twisted's
        transport, rather than sent.
        """
        self.transport.loseWriteConnection()
        self.transport.doWrite()
        self.transport.write(b"late")
        self.connected.client.setblocking(True)
        self.assertEqual(self.connected.client.recv(100), b"")


class EpollRegistrationTests(SynchronousTestCase):
    """
    On Twisted's epoll reactor, L{SendAtOnceServer} registers and
    unregisters itself in one step, leaving the reactor and epoll as
    Twisted's own C{addReader}/C{removeReader} leave them.
    """

    def connected(self, kind: type[tcp.Server]) -> Connected:
        reactor = EPollReactor()
        self.addCleanup(reactor._poller.close)
        connected = Connected(kind, reactor)  # type: ignore[arg-type]
        self.addCleanup(connected.close)
        # Readable and writable, so that epoll reports what it watches.
        connected.client.sendall(b"request")
        return connected

    def state(self, connected: Connected) -> tuple[object, ...]:
        """
        What the reactor and epoll know of the transport: whether it is
        in the reactor's read set, its write set, its selectables, and the
        events epoll reports for its descriptor.
        """
        reactor: Any = connected.reactor
        fd = connected.transport.fileno()
        events = dict(reactor._poller.poll(0)).get(fd, 0)
        return (
            fd in reactor._reads,
            fd in reactor._writes,
            reactor._selectables.get(fd) is connected.transport,
            events,
        )

    def test_likeTwisted(self) -> None:
        """
        Every step of a sequence of starting and stopping reading and
        writing leaves the same state as with Twisted's own transport.
        """
        fast = self.connected(SendAtOnceServer)
        stock = self.connected(tcp.Server)
        self.assertEqual(self.state(fast), self.state(stock))
        self.assertEqual(self.state(fast), (True, False, True, EPOLLIN))
        steps = [
            "startWriting",
            "stopReading",
            "startReading",
            "startReading",
            "stopWriting",
            "stopReading",
            "stopReading",
            "startReading",
            "startWriting",
            "stopWriting",
            "stopReading",
        ]
        for step in steps:
            getattr(fast.transport, step)()
            getattr(stock.transport, step)()
            self.assertEqual(self.state(fast), self.state(stock), step)
        self.assertEqual(self.state(fast), (False, False, False, 0))

    def test_otherReactors(self) -> None:
        """
        On any other reactor, registration is the reactor's own.
        """
        connected = Connected(SendAtOnceServer)
        self.addCleanup(connected.close)
        self.assertIn(connected.transport, connected.reactor.readers)
        connected.transport.stopReading()
        self.assertNotIn(connected.transport, connected.reactor.readers)


class SendAtOnceInstallTests(SynchronousTestCase):
    """
    L{sendAtOnce} changes the transport of TCP ports only.
    """

    def test_tcpPort(self) -> None:
        port = tcp.Port(0, Factory(), reactor=MemoryReactor())
        self.assertTrue(sendAtOnce(port))
        self.assertIs(port.transport, SendAtOnceServer)
        self.assertIs(tcp.Port.transport, tcp.Server)

    def test_otherPort(self) -> None:
        class Other(tcp.Server):
            pass

        port = tcp.Port(0, Factory(), reactor=MemoryReactor())
        port.transport = Other
        self.assertFalse(sendAtOnce(port))
        self.assertIs(port.transport, Other)


class TwistedPathTests(SynchronousTestCase):
    """
    What must take Twisted's own path even when nothing is buffered.
    """

    def setUp(self) -> None:
        self.clock = MemoryReactorClock()

    def connected(self) -> Connected:
        connected = Connected(SendAtOnceServer)
        self.addCleanup(connected.close)
        connected.transport.reactor = self.clock
        return connected

    def test_abortThenLoseConnection(self) -> None:
        """
        After C{abortConnection}, a C{loseConnection} does not close
        cleanly: the connection is aborted, the client sees a reset.
        """
        connected = self.connected()
        connected.transport.abortConnection()
        connected.transport.loseConnection()
        self.assertIsNone(connected.protocol.lost)
        self.clock.advance(0)
        assert connected.protocol.lost is not None
        self.assertTrue(connected.protocol.lost.check(ConnectionAborted))
        connected.client.setblocking(True)
        self.assertRaises(ConnectionResetError, connected.client.recv, 100)

    def test_abortThenWrite(self) -> None:
        """
        After C{abortConnection}, a write is not sent.
        """
        connected = self.connected()
        connected.transport.abortConnection()
        connected.transport.write(b"after-abort")
        self.clock.advance(0)
        connected.client.setblocking(True)
        self.assertRaises(ConnectionResetError, connected.client.recv, 100)

    def test_wrappingProtocol(self) -> None:
        """
        A protocol that is itself a transport (TLS, the PROXY wrapper) is
        not told of the close from inside its own C{loseConnection} call:
        TLS goes on using its connection after asking to close.
        """
        connected = self.connected()

        wrapper = Recorder()
        directlyProvides(wrapper, ITransport)
        connected.transport.protocol = wrapper
        connected.transport.loseConnection()
        self.assertIsNone(wrapper.lost)
        self.assertTrue(connected.transport.disconnecting)

    def test_connectionLostRaises(self) -> None:
        """
        A protocol whose C{connectionLost} raises costs a logged error, as
        when the reactor calls it, not an exception in the caller of
        C{loseConnection} (the request log's flush, which has other
        answers to send).
        """
        connected = self.connected()

        class Broken(Recorder):
            def connectionLost(self, reason: Failure = connectionDone) -> None:
                raise RuntimeError("broken")

        connected.transport.protocol = Broken()
        connected.protocol = Recorder()
        connected.transport.loseConnection()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(connected.transport.connected, 0)
