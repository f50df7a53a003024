"""
A listening socket of its own for each worker: the sockets the parent
makes with C{SO_REUSEPORT} (on a fake reactor, but real sockets on
loopback), and which endpoints get them.
"""

import os
import socket
import tempfile
from pathlib import Path
from typing import cast

from twisted.internet.error import CannotListenError, ProcessDone
from twisted.internet.interfaces import IListeningPort, IReadDescriptor
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig, makeService
from responder.workers import WorkerPoolService, WorkerSpec, _pool
from responder.workers._reuseport import PortGroup, ReusePort
from responder.workers._spec import perWorker

from ..tls import writeCertificate
from .test_workers import ProcessReactor


def fileno(port: IListeningPort) -> int:
    return cast(IReadDescriptor, port).fileno()


def option(port: IListeningPort, name: int) -> int:
    """
    The value of the socket option C{name} on C{port}'s socket.
    """
    with socket.socket(fileno=os.dup(fileno(port))) as copy:
        return copy.getsockopt(socket.SOL_SOCKET, name)


class PortGroupTests(SynchronousTestCase):
    """
    A L{PortGroup} makes one listening socket per worker on one address,
    each with C{SO_REUSEPORT}.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.factory = Factory.forProtocol(Protocol)

    def group(self, count: int) -> PortGroup:
        group = PortGroup(self.reactor, count)

        def close() -> None:
            for port in group.ports:
                port.stopListening()
            self.reactor.advance(0)

        self.addCleanup(close)
        return group

    def test_onePerWorker(self) -> None:
        """
        Port 0: the first socket gets a port from the kernel, the others
        the same port, each a socket of its own with C{SO_REUSEPORT} set,
        listening; the first is what the endpoint gets.
        """
        group = self.group(3)
        first = group.listenTCP(0, self.factory, 50, "127.0.0.1")
        self.assertEqual(len(group.ports), 3)
        self.assertIs(group.ports[0], first)
        self.assertEqual(len({fileno(port) for port in group.ports}), 3)
        hosts = {port.getHost() for port in group.ports}
        self.assertEqual(len(hosts), 1)
        [host] = hosts
        self.assertNotEqual(host.port, 0)  # type: ignore[attr-defined]
        for port in group.ports:
            self.assertEqual(option(port, socket.SO_REUSEPORT), 1)
            self.assertEqual(option(port, socket.SO_ACCEPTCONN), 1)

    def test_connectionsSpread(self) -> None:
        """
        The kernel queues connections on every socket of the group: 32
        connections do not all land on one of two.
        """
        group = self.group(2)
        port = group.listenTCP(0, self.factory, 50, "127.0.0.1")
        address = ("127.0.0.1", port.getHost().port)  # type: ignore[attr-defined]
        clients = [socket.create_connection(address, timeout=10) for _ in range(32)]
        accepted = []
        for made in group.ports:
            with socket.socket(fileno=os.dup(fileno(made))) as listening:
                listening.setblocking(False)
                count = 0
                for _ in range(len(clients)):
                    try:
                        listening.accept()[0].close()
                    except BlockingIOError:
                        break
                    count += 1
                accepted.append(count)
        for client in clients:
            client.close()
        self.assertEqual(sum(accepted), 32)
        self.assertTrue(all(accepted), accepted)

    def test_tcp6(self) -> None:
        """
        An IPv6 interface makes IPv6 sockets, all on one port.
        """
        group = self.group(2)
        group.listenTCP(0, self.factory, 50, "::1")
        self.assertEqual(
            {(port.getHost().host, port.getHost().port) for port in group.ports},  # type: ignore[attr-defined]
            {("::1", group.ports[0].getHost().port)},  # type: ignore[attr-defined]
        )

    def test_givenPort(self) -> None:
        """
        A port given is the port of every socket.
        """
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            number = probe.getsockname()[1]
        group = self.group(2)
        group.listenTCP(number, self.factory, 50, "127.0.0.1")
        self.assertEqual(
            [port.getHost().port for port in group.ports],  # type: ignore[attr-defined]
            [number, number],
        )

    def test_addressInUse(self) -> None:
        """
        An address another socket listens on is in use, as for one process,
        even if that socket has C{SO_REUSEPORT} too (another pool, say):
        otherwise the two would split the connections without a word.
        """
        for reusePort in (False, True):
            with socket.socket() as other:
                if reusePort:
                    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                other.bind(("127.0.0.1", 0))
                other.listen()
                number = other.getsockname()[1]
                group = self.group(2)
                with self.assertRaises(CannotListenError) as caught:
                    group.listenTCP(number, self.factory, 50, "127.0.0.1")
                self.assertIn("Address already in use", str(caught.exception))
                self.assertEqual(group.ports, [])

    def test_stopOthers(self) -> None:
        """
        C{stopOthers} closes every socket but the first, the endpoint's.
        """
        group = self.group(3)
        group.listenTCP(0, self.factory, 50, "127.0.0.1")
        stopped = group.stopOthers()
        self.reactor.advance(0)
        self.successResultOf(stopped)
        self.assertEqual(option(group.ports[0], socket.SO_ACCEPTCONN), 1)
        for port in group.ports[1:]:
            self.assertEqual(fileno(port), -1)

    def test_reusePort(self) -> None:
        port = ReusePort(0, self.factory, 50, "127.0.0.1", self.reactor)
        port.startListening()
        self.addCleanup(self.reactor.advance, 0)
        self.addCleanup(port.stopListening)
        self.assertEqual(option(port, socket.SO_REUSEPORT), 1)


def pool(config: ResponderConfig) -> WorkerPoolService:
    service = makeService(config, ProcessReactor())
    assert isinstance(service, WorkerPoolService)
    return service


class PoolSocketsTests(SynchronousTestCase):
    """
    Which endpoints give each worker a socket of its own, and which
    descriptors each worker inherits.
    """

    def test_which(self) -> None:
        """
        TCP endpoints (C{tcp:}, C{tcp6:}, C{ssl:}, also behind
        C{haproxy:}) get sockets per worker; C{unix:} and C{systemd:}
        share one (systemd's, parsed only with systemd's variables set,
        is checked by its description); C{--worker-sockets shared} shares
        them all.
        """
        self.assertFalse(perWorker("systemd:domain=INET:index=0"))
        self.assertFalse(perWorker("haproxy:systemd:domain=INET:index=0"))
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        key, cert = writeCertificate(Path(folder.name))
        endpoints = (
            "tcp:0:interface=127.0.0.1",
            r"tcp6:0:interface=\:\:1",
            f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
            "haproxy:tcp:0:interface=127.0.0.1",
            f"unix:{folder.name}/r.sock",
            f"haproxy:unix:{folder.name}/p.sock",
        )
        config = ResponderConfig(endpoints=endpoints, workers=2)
        own = sorted(endpoint.description for endpoint in pool(config).groups)
        self.assertEqual(own, sorted(endpoints[:4]))
        shared = ResponderConfig(endpoints=endpoints, workers=2, workerSockets="shared")
        self.assertEqual(pool(shared).groups, {})

    def test_notLinux(self) -> None:
        """
        Where the kernel does not spread connections among the sockets of
        one address, the workers share one whatever is asked.
        """
        self.patch(_pool, "SPREADS", False)
        config = ResponderConfig(endpoints=("tcp:0",), workers=2)
        self.assertEqual(pool(config).groups, {})

    def test_descriptors(self) -> None:
        """
        Worker I{i} inherits socket I{i} of the group, at the same
        descriptor in every worker; the spec is the same for all.
        """
        config = ResponderConfig(
            endpoints=("tcp:0:interface=127.0.0.1",), workers=3, requestLog="stdout"
        )
        service = pool(config)
        reactor = service.reactor
        assert isinstance(reactor, ProcessReactor)
        service.startService()
        [group] = service.groups.values()
        self.assertEqual(
            [spawned["childFDs"][3] for spawned in reactor.spawned],
            [fileno(port) for port in group.ports],
        )
        self.assertEqual(len({fileno(port) for port in group.ports}), 3)
        self.assertEqual(reactor.readers, set())
        specs = {WorkerSpec.fromJSON(p.stdin).sockets for p in reactor.processes}
        self.assertEqual(len(specs), 1)
        # Stopping closes every socket of the group, then stops the workers.
        stopped = service.stopService()
        for _ in range(3):
            reactor.advance(0)
        self.assertEqual([fileno(port) for port in group.ports], [-1, -1, -1])
        for process in reactor.processes:
            self.assertEqual(process.signals, ["TERM"])
            process.end(ProcessDone(0))
        self.successResultOf(stopped)
