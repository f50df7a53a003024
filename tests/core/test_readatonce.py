"""
L{ReadAtOncePort} reads from the connections it accepts before registering
them, L{SendAtOnceServer} sets up as Twisted's C{tcp.Server} does, and
L{dispatchDirectly} dispatches their events without a logging context; and
the Twisted internals all three rely on behave as they assume, so that an
upgrade that changes them fails here.
"""

import errno
import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import tcp
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.epollreactor import EPollReactor
from twisted.internet.error import CannotListenError, ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IAddress, IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.testing import MemoryReactor, MemoryReactorClock
from twisted.python import context, log
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase
from zope.interface import implementer

from responder.core import ReadAtOncePort, SendAtOnceServer, sendAtOnce
from responder.core._fastpath import dispatchDirectly
from responder.core._fastpath._dispatch import _DirectPoll


@implementer(IHalfCloseableProtocol)
class Recorder(Protocol):
    """
    Record what happens to one connection; with C{answer}, answer the first
    data and close; with C{pause}, stop reading at once.
    """

    def __init__(self, answer: bool = True, pause: bool = False) -> None:
        self.events: list[object] = []
        self.answer = answer
        self.pause = pause
        self.system: str | None = None

    def connectionMade(self) -> None:
        if self.pause:
            self.transport.pauseProducing()  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self.events.append(data)
        self.system = context.get(log.ILogContext)["system"]
        if self.answer:
            self.transport.write(b"answer")  # type: ignore[union-attr]
            self.transport.loseConnection()  # type: ignore[union-attr]

    def readConnectionLost(self) -> None:
        self.events.append("eof")
        self.transport.loseConnection()  # type: ignore[union-attr]

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.events.append(reason.type)


def tcpPair(case: SynchronousTestCase) -> socket.socket:
    """
    The server's end of a connected loopback TCP pair, closed (with the
    client's end) after C{case}.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = socket.create_connection(listener.getsockname(), timeout=5)
        accepted, _ = listener.accept()
    case.addCleanup(client.close)
    case.addCleanup(accepted.close)
    return accepted


class Recorders(Factory[Protocol]):
    def __init__(self, **kwargs: bool) -> None:
        self.kwargs = kwargs
        self.built: list[tuple[Recorder, IAddress | None]] = []

    def buildProtocol(self, addr: IAddress | None) -> Protocol:
        protocol = Recorder(**self.kwargs)
        protocol.factory = self
        self.built.append((protocol, addr))
        return protocol


class Listening:
    """
    A port on 127.0.0.1 made to read at once, on C{reactor}, and clients
    connected to it.
    """

    def __init__(
        self,
        reactor: MemoryReactor | EPollReactor,
        factory: Factory[Protocol],
        afterReads: Callable[[], object] | None = None,
    ) -> None:
        self.port = tcp.Port(0, factory, interface="127.0.0.1", reactor=reactor)
        self.port.startListening()
        self.made = sendAtOnce(self.port, afterReads)
        self.clients: list[socket.socket] = []

    def connect(self, send: bytes = b"", shut: bool = False) -> socket.socket:
        client = socket.create_connection(
            ("127.0.0.1", self.port.getHost().port), timeout=5
        )
        if send:
            client.sendall(send)
        if shut:
            client.shutdown(socket.SHUT_WR)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.port.connectionLost(Failure(ConnectionDone()))


class ReadAtOnceTests(SynchronousTestCase):
    """
    A port made by L{sendAtOnce} accepts, reads, lets C{afterReads} run,
    and only then registers what is still open.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.order: list[str] = []

    def listen(self, **kwargs: bool) -> tuple[Listening, Recorders]:
        factory = Recorders(**kwargs)

        def afterReads() -> None:
            self.order.append("afterReads")

        listening = Listening(self.reactor, factory, afterReads)
        self.addCleanup(listening.close)
        self.assertTrue(listening.made)
        self.assertIsInstance(listening.port, ReadAtOncePort)
        return listening, factory

    def test_requestWaiting(self) -> None:
        """
        A request that arrived with the connection is read and answered in
        the port's C{doRead}; the connection, closed by then, was never
        registered with the reactor.
        """
        listening, factory = self.listen()
        client = listening.connect(b"hello")
        listening.port.doRead()
        [(protocol, _)] = factory.built
        self.assertEqual(protocol.events, [b"hello", ConnectionDone])
        self.assertEqual(self.order, ["afterReads"])
        self.assertNotIn(protocol.transport, self.reactor.readers)
        self.assertEqual(client.recv(100), b"answer")

    def test_nothingYet(self) -> None:
        """
        A connection with nothing to read yet is registered for reading,
        after C{afterReads}.
        """
        listening, factory = self.listen()
        listening.connect()
        listening.port.doRead()
        [(protocol, _)] = factory.built
        self.assertEqual(protocol.events, [])
        self.assertIn(protocol.transport, self.reactor.readers)

    def test_stillOpen(self) -> None:
        """
        A connection still open after its first read (keep-alive) is
        registered for reading.
        """
        listening, factory = self.listen(answer=False)
        listening.connect(b"one")
        listening.port.doRead()
        [(protocol, _)] = factory.built
        self.assertEqual(protocol.events, [b"one"])
        self.assertIn(protocol.transport, self.reactor.readers)

    def test_closedBeforeAccepted(self) -> None:
        """
        A client that half-closed before it was accepted is heard at once
        as an end of file, as the reactor would report it: a half-closeable
        protocol may still answer.
        """
        listening, factory = self.listen()
        client = listening.connect(shut=True)
        listening.port.doRead()
        [(protocol, _)] = factory.built
        self.assertEqual(protocol.events, ["eof", ConnectionDone])
        self.assertNotIn(protocol.transport, self.reactor.readers)
        self.assertEqual(client.recv(100), b"")

    def test_paused(self) -> None:
        """
        A protocol that stopped reading when it was connected is neither
        read from nor registered.
        """
        listening, factory = self.listen(pause=True)
        listening.connect(b"hello")
        listening.port.doRead()
        [(protocol, _)] = factory.built
        self.assertEqual(protocol.events, [])
        self.assertNotIn(protocol.transport, self.reactor.readers)
        protocol.transport.resumeProducing()  # type: ignore[union-attr]
        self.assertIn(protocol.transport, self.reactor.readers)

    def test_batch(self) -> None:
        """
        Every connection of one C{doRead} is accepted before any is read,
        and C{afterReads} runs once for them all.
        """
        listening, factory = self.listen()
        listening.port.numberAccepts = 10
        for n in range(3):
            listening.connect(b"%d" % n)
        listening.port.doRead()
        self.assertEqual([p.events[0] for p, _ in factory.built], [b"0", b"1", b"2"])
        self.assertEqual(self.order, ["afterReads"])

    def test_afterReadsFails(self) -> None:
        """
        Should C{afterReads} raise, the error is logged, as Twisted's
        C{doRead} logs its own, rather than reaching the reactor (which
        would close the listening port); the connections still open are
        registered all the same.
        """
        factory = Recorders(answer=False)

        def afterReads() -> None:
            raise RuntimeError("log broken")

        listening = Listening(self.reactor, factory, afterReads)
        self.addCleanup(listening.close)
        listening.connect(b"one")
        listening.port.doRead()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        [(protocol, _)] = factory.built
        self.assertEqual(protocol.events, [b"one"])
        self.assertIn(protocol.transport, self.reactor.readers)

    def test_connectionLostFails(self) -> None:
        """
        A protocol whose C{connectionLost} raises, for a client that
        closed before it was accepted, costs a logged error, not the
        port's next connections.
        """

        class Broken(Protocol):
            # Not half-closeable: the end of file closes the connection.
            def connectionLost(self, reason: Failure = connectionDone) -> None:
                raise RuntimeError("broken")

        class Brokens(Recorders):
            broken = False

            def buildProtocol(self, addr: IAddress | None) -> Protocol:
                if self.broken:
                    return super().buildProtocol(addr)
                self.broken = True
                return Broken()

        factory = Brokens()
        listening = Listening(self.reactor, factory)
        self.addCleanup(listening.close)
        listening.connect(shut=True)
        listening.port.doRead()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        client = listening.connect(b"next")
        listening.port.doRead()
        [(second, _)] = factory.built
        self.assertEqual(second.events, [b"next", ConnectionDone])
        self.assertEqual(client.recv(100), b"answer")

    def test_onePeerAddress(self) -> None:
        """
        C{getPeer} gives the address the port built for C{buildProtocol}:
        addresses are immutable, and one is enough.
        """
        listening, factory = self.listen(answer=False)
        client = listening.connect()
        listening.port.doRead()
        [(protocol, addr)] = factory.built
        assert protocol.transport is not None
        self.assertIs(protocol.transport.getPeer(), addr)
        self.assertEqual(addr, IPv4Address("TCP", "127.0.0.1", client.getsockname()[1]))

    def test_lateTransports(self) -> None:
        """
        Outside a port's C{doRead} (a transport made by hand), the
        transport registers at once and builds its peer's address itself.
        """
        port = tcp.Port(0, Factory(), reactor=self.reactor)
        sendAtOnce(port)
        transport = SendAtOnceServer(
            tcpPair(self), Protocol(), ("127.0.0.1", 4000), port, 1, self.reactor
        )
        self.assertIn(transport, self.reactor.readers)
        self.assertEqual(transport.getPeer(), IPv4Address("TCP", "127.0.0.1", 4000))

    def test_acceptedSocket(self) -> None:
        """
        Each connection gets the C socket type (C{socket.SocketType}, not
        the C{socket.socket} subclass), non-blocking once the transport has
        it, with what a transport uses of it working.
        """
        listening, factory = self.listen(answer=False)
        client = listening.connect()
        listening.port.doRead()
        [(protocol, _)] = factory.built
        assert protocol.transport is not None
        accepted = protocol.transport.getHandle()  # type: ignore[attr-defined]
        self.assertIs(type(accepted), socket.SocketType)
        self.assertEqual(
            (accepted.family, accepted.type, accepted.getblocking()),
            (socket.AF_INET, socket.SOCK_STREAM, False),
        )
        self.assertEqual(accepted.getpeername(), client.getsockname())
        protocol.transport.setTcpNoDelay(True)  # type: ignore[attr-defined]
        self.assertTrue(protocol.transport.getTcpNoDelay())  # type: ignore[attr-defined]
        protocol.transport.abortConnection()  # type: ignore[attr-defined]
        self.reactor.advance(0)
        self.assertEqual(accepted.fileno(), -1)
        with self.assertRaises(ConnectionResetError):
            client.recv(10)

    def test_batchesScaleLikeTwisted(self) -> None:
        """
        A batch that filled up lets the next one grow by 20; one that did
        not sets the next to what it accepted, or 1: Twisted's rule.
        """
        listening, factory = self.listen(answer=False)
        listening.port.numberAccepts = 2
        for _ in range(3):
            listening.connect()
        listening.port.doRead()
        self.assertEqual((len(factory.built), listening.port.numberAccepts), (2, 22))
        listening.port.doRead()
        self.assertEqual((len(factory.built), listening.port.numberAccepts), (3, 1))
        listening.port.doRead()
        self.assertEqual((len(factory.built), listening.port.numberAccepts), (3, 1))

    def test_refused(self) -> None:
        """
        A factory that builds no protocol has the connection closed, and
        the next one is still served.
        """

        class Choosy(Recorders):
            def buildProtocol(self, addr: IAddress | None) -> Protocol | None:  # type: ignore[override]
                if not self.built and not getattr(self, "refused", False):
                    self.refused = True
                    return None
                return super().buildProtocol(addr)

        factory = Choosy()
        listening = Listening(self.reactor, factory)
        self.addCleanup(listening.close)
        listening.port.numberAccepts = 10
        refused = listening.connect()
        served = listening.connect(b"hello")
        listening.port.doRead()
        self.assertEqual(refused.recv(100), b"")
        self.assertEqual(served.recv(100), b"answer")
        [(protocol, _)] = factory.built
        self.assertEqual(protocol.transport.sessionno, 0)  # type: ignore[union-attr]

    def failAccepts(
        self, listening: Listening, fast: list[int], stock: list[int]
    ) -> None:
        """
        Make the port's accepts fail: its own (C{_accept}) with the errors
        in C{fast}, Twisted's (C{accept}) with those in C{stock}, each once,
        in order; then accept again.
        """
        real = listening.port.socket

        def failing(errors: list[int], accept: Callable[[], Any]) -> Any:
            def accepting() -> Any:
                if errors:
                    raise OSError(errors.pop(0), "failed")
                return accept()

            return accepting

        class Failing:
            _accept = staticmethod(failing(fast, real._accept))  # type: ignore[union-attr]
            accept = staticmethod(failing(stock, real.accept))

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        listening.port.socket = Failing()
        self.addCleanup(setattr, listening.port, "socket", real)

    def test_acceptErrorsToTwisted(self) -> None:
        """
        An accept that fails for another reason than "nothing more to
        accept" hands the batch to Twisted's own C{doRead}, which knows
        what each error means: after a passing one, it accepts the next
        connection and registers it at once, unread.
        """
        for error in (errno.ECONNABORTED, errno.EPERM, errno.ENOBUFS, errno.EMFILE):
            listening, factory = self.listen(answer=False)
            self.failAccepts(listening, [error], [])
            listening.connect(b"hello")
            listening.port.doRead()
            [(protocol, _)] = factory.built
            self.assertEqual(protocol.events, [])
            self.assertIn(protocol.transport, self.reactor.readers)

    def test_outOfDescriptors(self) -> None:
        """
        Out of descriptors (C{EMFILE}), Twisted's C{doRead} frees the one it
        keeps in reserve, accepts and closes the waiting clients, and the
        port goes on.
        """
        listening, factory = self.listen()
        self.failAccepts(listening, [errno.EMFILE], [errno.EMFILE])
        turnedAway = listening.connect()
        listening.port.doRead()
        self.assertEqual(factory.built, [])
        self.assertEqual(turnedAway.recv(100), b"")
        served = listening.connect(b"hello")
        listening.port.doRead()
        self.assertEqual(served.recv(100), b"answer")


class IPv6Tests(SynchronousTestCase):
    """
    Over IPv6, the port builds the peer's address as C{tcp.Port} does.
    """

    def test_peerAlike(self) -> None:
        if not socket.has_ipv6:
            raise SkipTest("no IPv6")
        reactor = MemoryReactorClock()
        built: dict[str, IAddress | None] = {}
        for kind in ("stock", "fast"):
            factory = Recorders(answer=False)
            try:
                port = tcp.Port(0, factory, interface="::1", reactor=reactor)
                port.startListening()
            except CannotListenError:
                raise SkipTest("no IPv6 loopback") from None
            self.addCleanup(port.connectionLost, Failure(ConnectionDone()))
            if kind == "fast":
                sendAtOnce(port)
            client = socket.create_connection(("::1", port.getHost().port), timeout=5)
            self.addCleanup(client.close)
            port.doRead()
            [(protocol, addr)] = factory.built
            assert addr is not None and protocol.transport is not None
            self.assertEqual(addr.port, client.getsockname()[1])  # type: ignore[attr-defined]
            self.assertEqual(protocol.transport.getPeer(), addr)
            built[kind] = IPv6Address("TCP", addr.host, 0)  # type: ignore[attr-defined]
        self.assertEqual(built["fast"], built["stock"])


class Unregistering(MemoryReactorClock):
    """
    A memory reactor that records whom it was asked to unregister.
    """

    def __init__(self) -> None:
        super().__init__()
        self.readersRemoved: list[object] = []
        self.writersRemoved: list[object] = []

    def removeReader(self, reader: object) -> None:
        self.readersRemoved.append(reader)
        super().removeReader(reader)

    def removeWriter(self, writer: object) -> None:
        self.writersRemoved.append(writer)
        super().removeWriter(writer)


class LikeTwistedTests(SynchronousTestCase):
    """
    L{SendAtOnceServer} sets up what Twisted's C{tcp.Server} sets up, and
    names itself alike, so that the code of Twisted's it inherits finds
    what it expects.
    """

    def test_sameAttributes(self) -> None:
        """
        C{tcp.Server.__init__} sets exactly the attributes that
        L{SendAtOnceServer.__init__} sets, but for the two names it makes
        only when asked and its own record of being registered for reading;
        a Twisted that sets another one fails this test.
        """
        reactor = MemoryReactor()
        port = tcp.Port(0, Factory(), reactor=reactor)
        port._realPortNumber = 1984
        made = []
        for kind in (tcp.Server, SendAtOnceServer):
            peer = ("127.0.0.1", 4000)
            made.append(kind(tcpPair(self), Protocol(), peer, port, 7, reactor))
        stock, fast = made
        # Less the names made when asked, plus the transport's own record
        # of its registration.
        self.assertEqual(
            set(vars(stock)) - {"logstr", "repstr"}, set(vars(fast)) - {"_reading"}
        )
        for name in set(vars(fast)) - {"socket", "fileno", "protocol", "_reading"}:
            self.assertEqual(getattr(fast, name), getattr(stock, name), name)
        self.assertEqual(fast.logPrefix(), stock.logPrefix())
        self.assertEqual(repr(fast), "<Protocol #7 on 1984>")
        self.assertEqual(repr(fast), repr(stock))

    def test_doReadAlike(self) -> None:
        """
        L{SendAtOnceServer.doRead} (Twisted's, with C{_dataReceived} written
        in) returns what C{tcp.Server.doRead} returns, and hands the
        protocol the same data: nothing to read, data, end of file, reset.
        """

        def reads(kind: type[tcp.Server]) -> list[object]:
            reactor = MemoryReactor()
            port = tcp.Port(0, Factory(), reactor=reactor)
            results: list[object] = []
            for ending in ("eof", "reset"):
                with socket.socket() as listener:
                    listener.bind(("127.0.0.1", 0))
                    listener.listen(1)
                    client = socket.create_connection(listener.getsockname())
                    accepted, _ = listener.accept()
                protocol = Recorder(answer=False)
                transport = kind(accepted, protocol, ("127.0.0.1", 1), port, 1, reactor)
                protocol.makeConnection(transport)
                results.append(transport.doRead())
                client.sendall(b"data")
                results.append(transport.doRead())
                if ending == "reset":
                    client.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0"
                    )
                    client.sendall(b"unread")
                    accepted.setblocking(True)
                    accepted.recv(6)
                    accepted.setblocking(False)
                client.close()
                results.append(type(transport.doRead()))
                results.append(list(protocol.events))
                accepted.close()
            return results

        stock = reads(tcp.Server)
        self.assertEqual(
            stock,
            [
                None,
                None,
                ConnectionDone,
                [b"data"],
                None,
                None,
                ConnectionLost,
                [b"data"],
            ],
        )
        self.assertEqual(reads(SendAtOnceServer), stock)

    def test_writerOnlyIfWriting(self) -> None:
        """
        A transport that never had to register for writing closes without
        asking the reactor to unregister it; one that did is unregistered.
        """
        reactor = Unregistering()
        removed = reactor.writersRemoved
        port = tcp.Port(0, Factory(), reactor=reactor)
        quiet = SendAtOnceServer(
            tcpPair(self), Protocol(), ("127.0.0.1", 1), port, 1, reactor
        )
        quiet.protocol.makeConnection(quiet)
        quiet.write(b"answer")
        quiet.loseConnection()
        self.assertEqual(removed, [])
        busy = SendAtOnceServer(
            tcpPair(self), Protocol(), ("127.0.0.1", 2), port, 2, reactor
        )
        busy.protocol.makeConnection(busy)
        busy.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        busy.write(b"x" * (4 << 20))
        self.assertIn(busy, reactor.writers)
        busy.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(removed, [busy])
        self.assertNotIn(busy, reactor.writers)

    def test_readerOnlyIfReading(self) -> None:
        """
        A connection answered as the port accepted it, never registered for
        reading, closes without asking the reactor to unregister it; one
        that waited for its request is unregistered.
        """
        reactor = Unregistering()
        removed = reactor.readersRemoved
        factory = Recorders()
        listening = Listening(reactor, factory)
        self.addCleanup(listening.close)
        listening.connect(b"at once")
        listening.port.doRead()
        self.assertEqual(removed, [])
        late = listening.connect()
        listening.port.doRead()
        [_, (protocol, _)] = factory.built
        self.assertIn(protocol.transport, reactor.readers)
        late.sendall(b"later")
        protocol.transport.doRead()  # type: ignore[union-attr]
        self.assertEqual(removed, [protocol.transport])
        self.assertNotIn(protocol.transport, reactor.readers)

    def test_ipv6Address(self) -> None:
        """
        A peer given as four parts is an IPv6 one, as in C{tcp.Server}.
        """
        reactor = MemoryReactor()
        port = tcp.Port(0, Factory(), reactor=reactor)
        peer = ("::1", 4000, 0, 0)
        fast = SendAtOnceServer(tcpPair(self), Protocol(), peer, port, 1, reactor)
        self.assertEqual(fast.getPeer().type, "TCP")
        self.assertEqual(str(fast.getPeer().host), "::1")

    def test_namedOnceClosed(self) -> None:
        """
        Twisted forgets the protocol when the connection closes; the
        transport still has a name then.
        """
        reactor = MemoryReactor()
        port = tcp.Port(0, Factory(), reactor=reactor)
        port._realPortNumber = 1984
        peer = ("127.0.0.1", 9)
        fast = SendAtOnceServer(tcpPair(self), Protocol(), peer, port, 3, reactor)
        fast.protocol.makeConnection(fast)
        fast.loseConnection()
        self.assertEqual(repr(fast), "<SendAtOnceServer #3 on 1984>")
        self.assertEqual(fast.logPrefix(), "SendAtOnceServer,3,127.0.0.1")


#: The classes the fast path has dispatched directly.
DIRECT = frozenset({SendAtOnceServer, ReadAtOncePort})


class DirectDispatchTests(SynchronousTestCase):
    """
    L{dispatchDirectly} on a real epoll reactor (never run, only iterated).
    """

    def setUp(self) -> None:
        self.reactor = EPollReactor()
        self.addCleanup(self.reactor._poller.close)

    def test_internals(self) -> None:
        """
        What L{_DirectPoll} takes over from: the reactor's iteration is its
        C{doPoll}, over C{_poller}, C{_selectables}, C{_doReadOrWrite} and
        C{_disconnectSelectable}.
        """
        self.assertIs(EPollReactor.doIteration, EPollReactor.doPoll)
        for name in (
            "_poller",
            "_selectables",
            "_doReadOrWrite",
            "_disconnectSelectable",
        ):
            self.assertTrue(hasattr(self.reactor, name), name)

    def test_onlyOnce(self) -> None:
        """
        The reactor is changed once, and only an epoll reactor is.
        """
        self.assertTrue(dispatchDirectly(self.reactor, DIRECT))
        self.assertIsInstance(self.reactor.doIteration, _DirectPoll)
        self.assertFalse(dispatchDirectly(self.reactor, DIRECT))
        self.assertFalse(dispatchDirectly(MemoryReactor(), DIRECT))

    def test_directly(self) -> None:
        """
        A connection's read event reaches its protocol with no logging
        context of the connection's own; the listening port's too.
        """
        factory = Recorders()
        listening = Listening(self.reactor, factory)
        self.addCleanup(listening.close)
        self.assertIsInstance(self.reactor.doIteration, _DirectPoll)
        client = listening.connect()
        for _ in range(20):
            self.reactor.doIteration(0.1)
            if factory.built:
                break
        client.sendall(b"late")
        [(protocol, _)] = factory.built
        for _ in range(20):
            self.reactor.doIteration(0.1)
            if protocol.events:
                break
        self.assertEqual(protocol.events, [b"late", ConnectionDone])
        self.assertEqual(protocol.system, "-")
        self.assertEqual(client.recv(100), b"answer")

    def test_endOfInputDirectly(self) -> None:
        """
        A read event that is the client's half-close, dispatched directly,
        ends the input as Twisted's dispatch does: the protocol hears
        C{readConnectionLost} (and here closes).
        """
        factory = Recorders()
        listening = Listening(self.reactor, factory)
        self.addCleanup(listening.close)
        client = listening.connect()
        for _ in range(20):
            self.reactor.doIteration(0.1)
            if factory.built:
                break
        [(protocol, _)] = factory.built
        self.assertEqual(protocol.events, [])
        client.shutdown(socket.SHUT_WR)
        for _ in range(20):
            self.reactor.doIteration(0.1)
            if protocol.events:
                break
        self.assertEqual(protocol.events, ["eof", ConnectionDone])

    def test_othersWithContext(self) -> None:
        """
        Any other selectable is still dispatched as Twisted does, in its
        own logging context.
        """
        factory = Recorders()
        dispatchDirectly(self.reactor, DIRECT)
        port = self.reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.connectionLost, Failure(ConnectionDone()))
        client = socket.create_connection(("127.0.0.1", port.getHost().port))
        self.addCleanup(client.close)
        client.sendall(b"stock")
        for _ in range(40):
            self.reactor.doIteration(0.1)
            if factory.built and factory.built[0][0].events:
                break
        [(protocol, _)] = factory.built
        self.assertEqual(protocol.events[0], b"stock")
        self.assertEqual(protocol.system, "Recorder,0,127.0.0.1")

    def test_errorLogged(self) -> None:
        """
        An exception in a directly dispatched event is logged and loses the
        connection, as Twisted's own dispatch does.
        """

        class Broken(Recorder):
            def dataReceived(self, data: bytes) -> None:
                raise RuntimeError("broken")

        class Brokens(Factory[Protocol]):
            protocol = Broken

        listening = Listening(self.reactor, Brokens())
        self.addCleanup(listening.close)
        client = listening.connect()
        for _ in range(20):
            self.reactor.doIteration(0.1)
        client.sendall(b"x")
        for _ in range(20):
            self.reactor.doIteration(0.1)
            if self.flushLoggedErrors(RuntimeError):
                break
        else:
            self.fail("no error logged")
        client.settimeout(5)
        self.assertEqual(client.recv(100), b"")
