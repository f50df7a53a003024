"""
C{--agent}: HAProxy's agent check says C{ready}, then C{drain} for
C{--agent-drain} seconds of a stop while the server still serves; on a
fake reactor, then as a process.
"""

import re
import signal
import socket
import time

from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig, ResponderService, makeService
from responder.agent import AgentFactory
from responder.core import EndpointService

from .._server import readAll, request, runningServer, twistdCommand
from ..e2e.test_twistd import RESPONSE

LOOPBACK = "tcp:0:interface=127.0.0.1"


class AgentTests(SynchronousTestCase):
    def check(self, factory: AgentFactory) -> bytes:
        protocol = factory.buildProtocol(None)
        assert protocol is not None
        transport = StringTransport()
        protocol.makeConnection(transport)
        self.assertTrue(transport.disconnecting)
        return bytes(transport.value())

    def test_ready_then_drain(self) -> None:
        clock = Clock()
        factory = AgentFactory(clock, 2.0)
        self.assertEqual(self.check(factory), b"ready\n")
        announced = factory.announceStop()
        self.assertEqual(self.check(factory), b"drain\n")
        clock.advance(1.9)
        self.assertNoResult(announced)
        clock.advance(0.1)
        self.successResultOf(announced)

    def test_stop_waits_for_drain(self) -> None:
        """
        A stopping server keeps every port open while the agent says drain,
        then closes them, the agent's too.
        """
        reactor = MemoryReactorClock()
        config = ResponderConfig(endpoints=(LOOPBACK,), agent=LOOPBACK, agentDrain=2.0)
        service = makeService(config, reactor)
        assert isinstance(service, ResponderService)
        service.privilegedStartService()
        service.startService()
        ports = [child for child in service if isinstance(child, EndpointService)]
        self.assertEqual([child.purpose for child in ports], ["", " for agent checks"])
        stopped = service.stopService()
        self.assertTrue(all(child.running for child in ports))
        reactor.advance(2.0)
        self.successResultOf(stopped)
        self.assertFalse(any(child.running for child in ports))


def agentSays(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        return readAll(client)


def test_agent_drains_before_stopping() -> None:
    """
    As a process: C{ready}; after SIGTERM, C{drain} while requests are
    still answered for the drain time; then the ports close and the exit
    is twistd's 143.
    """
    argv = twistdCommand(
        "--port", LOOPBACK, "--agent", LOOPBACK, "--agent-drain", "2", "--workers", "2"
    )  # fmt: skip
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        [line] = server.waitFor(r"listening on 127\.0\.0\.1:\d+ for agent checks")
        agent = int(re.findall(r":(\d+) for agent", line)[0])
        server.waitFor(r"worker \d \(pid \d+\) ready", count=2)
        assert agentSays(agent) == b"ready\n"
        server.process.send_signal(signal.SIGTERM)
        server.waitFor(r"agent checks get 'drain' for 2 s")
        start = time.monotonic()
        assert agentSays(agent) == b"drain\n"
        answered = 0
        while time.monotonic() - start < 1.0:
            assert request(port, b"while draining\0") == RESPONSE
            answered += 1
        assert server.process.wait(30) == -signal.SIGTERM
        assert answered > 0
