"""
Rules in action: answers chosen by request, a greeting, and every fault,
over a L{StringTransport} with a L{task.Clock}; and the rules file reloaded
by SIGHUP in a real twistd process.
"""

import signal
import tempfile
from pathlib import Path

from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from responder import KeepAliveProtocol, ResponderConfig

from .._server import request, runningServer, twistdCommand
from ..support import Harness

RESPONSE = b"This is the response\0"

RULES = """
greeting = "hello there"
terminator = ""

[[rule]]
equals = "PING"
response = "PONG"

[[rule]]
prefix = "WAIT"
response = "waited"
delay = 2.5

[[rule]]
prefix = "SLOW"
response = "abcdefg"
slow = { bytes = 3, interval = 0.5 }

[[rule]]
equals = "CLOSE"
fault = "close"

[[rule]]
equals = "RESET"
fault = "reset"

[[rule]]
equals = "NEVER"
fault = "never"
"""


def writeRules(text: str) -> str:
    directory = Path(tempfile.mkdtemp())
    path = directory / "rules.toml"
    path.write_text(text)
    return str(path)


class RuleTests(SynchronousTestCase):
    def harness(self, **settings: object) -> Harness:
        path = writeRules(RULES)
        return Harness(ResponderConfig(rules=path, timeout=30, **settings))  # type: ignore[arg-type]

    def test_greeting_and_match(self) -> None:
        """
        The greeting goes out on connect; a matching request gets the rule's
        response (here without a terminator), then the close.
        """
        harness = self.harness()
        protocol, transport = harness.connect()
        self.assertEqual(transport.value(), b"hello there")
        protocol.dataReceived(b"PING\0")
        self.assertEqual(transport.value(), b"hello therePONG")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(harness.logged()[-1], "192.0.2.7:40000 PING")

    def test_no_match_gets_default(self) -> None:
        harness = self.harness()
        protocol, transport = harness.connect()
        transport.clear()
        protocol.dataReceived(b"other")
        self.assertEqual(transport.value(), RESPONSE)

    def test_delay(self) -> None:
        harness = self.harness()
        protocol, transport = harness.connect()
        transport.clear()
        protocol.dataReceived(b"WAIT please")
        harness.clock.advance(2.4)
        self.assertEqual(transport.value(), b"")
        self.assertFalse(transport.disconnecting)
        self.assertEqual(harness.factory.stats.answered, 0, "not yet")
        harness.clock.advance(0.1)
        self.assertEqual(transport.value(), b"waited")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(harness.factory.stats.answered, 1)

    def test_slow_write(self) -> None:
        harness = self.harness()
        protocol, transport = harness.connect()
        transport.clear()
        protocol.dataReceived(b"SLOW")
        self.assertEqual(transport.value(), b"abc")
        harness.clock.advance(0.5)
        self.assertEqual(transport.value(), b"abcdef")
        self.assertFalse(transport.disconnecting)
        harness.clock.advance(0.5)
        self.assertEqual(transport.value(), b"abcdefg")
        self.assertTrue(transport.disconnecting)

    def test_close(self) -> None:
        harness = self.harness()
        protocol, transport = harness.connect()
        transport.clear()
        protocol.dataReceived(b"CLOSE")
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)
        self.assertEqual(harness.logged()[-1], "192.0.2.7:40000 (closed) CLOSE")
        stats = harness.factory.stats
        self.assertEqual(
            (stats.requests, stats.closedByRule, stats.answered), (1, 1, 0)
        )

    def test_reset(self) -> None:
        harness = self.harness()
        protocol, transport = harness.connect()
        transport.clear()
        protocol.dataReceived(b"RESET")
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnected, "aborted")
        self.assertEqual(harness.factory.stats.resetByRule, 1)

    def test_never(self) -> None:
        """
        A rule that never answers leaves the connection to its deadline.
        """
        harness = self.harness()
        protocol, transport = harness.connect()
        transport.clear()
        protocol.dataReceived(b"NEVER")
        harness.clock.advance(29)
        self.assertEqual(transport.value(), b"")
        self.assertFalse(transport.disconnecting)
        harness.clock.advance(1)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(harness.logged()[-1], "192.0.2.7:40000 (unanswered) NEVER")
        self.assertEqual(harness.factory.stats.unanswered, 1)
        # One outcome per request: the deadline was how it was meant to end.
        self.assertEqual(harness.factory.stats.timedOut, 0)

    def test_pending_answer_cancelled_on_disconnect(self) -> None:
        harness = self.harness()
        protocol, _ = harness.connect()
        protocol.dataReceived(b"WAIT")
        protocol.connectionLost(Failure(ConnectionLost()))
        harness.clock.advance(1)
        self.assertEqual(harness.clock.getDelayedCalls(), [])

    def test_keep_alive_keeps_order(self) -> None:
        """
        In keep-alive mode, requests behind a delayed answer wait for it, and
        the client is not read meanwhile.
        """
        harness = self.harness(keepAlive=True)
        protocol, transport = harness.connect()
        self.assertIsInstance(protocol, KeepAliveProtocol)
        transport.clear()
        protocol.dataReceived(b"PING\0WAIT\0PING\0other\0")
        self.assertEqual(transport.value(), b"PONG")
        self.assertEqual(transport.producerState, "paused")
        harness.clock.advance(2.5)
        self.assertEqual(transport.value(), b"PONGwaitedPONG" + RESPONSE)
        self.assertEqual(transport.producerState, "producing")
        self.assertFalse(transport.disconnecting)

    def test_keep_alive_reads_on_after_a_rule(self) -> None:
        """
        If the client read a slow answer's first part while the rule was
        still writing, reading resumes once the answer is done, even with
        no request waiting: nothing else would resume it.
        """
        harness = self.harness(keepAlive=True)
        protocol, transport = harness.connect()
        transport.clear()
        protocol.dataReceived(b"SLOW\0")
        protocol.pauseProducing()  # type: ignore[attr-defined]
        self.assertEqual(transport.producerState, "paused")
        protocol.resumeProducing()  # type: ignore[attr-defined]
        self.assertEqual(transport.producerState, "paused", "the rule still writes")
        harness.clock.pump([0.5, 0.5])
        self.assertEqual(transport.value(), b"abcdefg")
        self.assertEqual(transport.producerState, "producing")

    def test_keep_alive_drain_after_a_rule(self) -> None:
        """
        Stopping while a delayed answer is under way closes once it is
        written; a request queued behind it is not answered and does not
        hold the connection open until the drain timeout.
        """
        harness = self.harness(keepAlive=True)
        protocol, transport = harness.connect()
        transport.clear()
        protocol.dataReceived(b"WAIT\0PING\0")
        harness.factory.drain(10)
        self.assertFalse(transport.disconnecting)
        harness.clock.advance(2.5)
        self.assertEqual(transport.value(), b"waited")
        self.assertTrue(transport.disconnecting)
        self.assertIsNone(transport.producer, "a registered producer holds the close")

    def test_keep_alive_end_of_input_waits_for_answer(self) -> None:
        harness = self.harness(keepAlive=True)
        protocol, transport = harness.connect()
        transport.clear()
        protocol.dataReceived(b"WAIT\0PI")
        protocol.readConnectionLost()  # type: ignore[attr-defined]
        self.assertFalse(transport.disconnecting)
        harness.clock.advance(2.5)
        self.assertEqual(transport.value(), b"waited" + RESPONSE)
        self.assertTrue(transport.disconnecting)

    def test_latency_measured_with_metrics(self) -> None:
        harness = self.harness(metrics="tcp:0")
        protocol, _ = harness.connect()
        protocol.dataReceived(b"WAIT")
        harness.clock.advance(2.5)
        latency = harness.factory.stats.latency
        self.assertEqual(sum(latency.counts), 1)
        self.assertEqual(latency.total, 2.5)

    def test_reload(self) -> None:
        """
        A good file replaces the rules; a bad one keeps them and says why.
        """
        harness = self.harness()
        assert harness.factory.config.rules is not None
        path = Path(harness.factory.config.rules)
        path.write_text('[[rule]]\nequals = "PING"\nresponse = "NEW"\n')
        harness.factory.reloadRules()
        protocol, transport = harness.connect()
        protocol.dataReceived(b"PING")
        self.assertEqual(transport.value(), b"NEW\0")
        path.write_text('[[rule]]\nequals = "PING"\n')
        harness.factory.reloadRules()
        self.assertIn("rules not reloaded, keeping the old ones", harness.logged()[-1])
        self.assertIn("rules.toml:1:", harness.logged()[-1])
        protocol, transport = harness.connect()
        protocol.dataReceived(b"PING")
        self.assertEqual(transport.value(), b"NEW\0")


def test_sighup_reloads_rules(tmp_path: Path) -> None:
    """
    In a real process: SIGHUP reloads the rules file; a bad file keeps the
    old rules, says why, and the server goes on.
    """
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nequals = "PING"\nresponse = "ONE"\n')
    argv = twistdCommand("--port", "tcp:0:interface=127.0.0.1", "--rules", str(rules))
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        server.waitFor(rf"loaded 1 rules from {rules}$")
        assert request(port, b"PING\0") == b"ONE\0"
        rules.write_text('[[rule]]\nequals = "PING"\nresponse = "TWO"\n')
        server.process.send_signal(signal.SIGHUP)
        server.waitFor(r"reloaded 1 rules from ")
        assert request(port, b"PING\0") == b"TWO\0"
        rules.write_text("")
        server.process.send_signal(signal.SIGHUP)
        server.waitFor(
            r"#warn\] reloaded no rules from .*: every request gets the default"
        )
        assert request(port, b"PING\0") == b"This is the response\0"
        rules.write_text("[[rule]]\nequals = 3\n")
        server.process.send_signal(signal.SIGHUP)
        server.waitFor(r"rules not reloaded, keeping the old ones: .*rules\.toml:2:")
        assert request(port, b"PING\0") == b"This is the response\0"
        assert server.stop() == 128 + signal.SIGTERM
        server.waitFor(r"stopped after answering 4 requests$")
        assert "Traceback" not in server.output()
