"""
L{ResponderFactory}'s own choices: its defaults (the global reactor, a
logger in the C{responder} namespace), where request lines go, the request
log flushed when a drain ends, and what a rules reload says.
"""

import json
import os
from pathlib import Path

from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

import responder.core._factory
from responder import ResponderConfig, ResponderFactory
from responder.logs import LoggerRequestLog, LogWriter

from ..support import Harness
from .test_faults import writeRules


class DefaultsTests(SynchronousTestCase):
    def test_global_reactor_and_namespace(self) -> None:
        from twisted.internet import reactor

        factory = ResponderFactory()
        self.assertIs(factory.clock, reactor)
        self.assertEqual(factory.log.namespace, "responder")
        self.assertIsInstance(factory.requestLog, LoggerRequestLog)

    def test_quiet(self) -> None:
        self.assertIsNone(ResponderFactory(ResponderConfig(quiet=True)).requestLog)


class StdoutRequestLogTests(SynchronousTestCase):
    """
    With C{requestLog="stdout"}, request lines go to the process's standard
    output writer at the end of the reactor iteration, as text or JSON lines.
    """

    def setUp(self) -> None:
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        self.addCleanup(os.close, write)
        os.set_blocking(read, False)
        self.read = read
        writer = self.writer = LogWriter(write, Clock())
        self.patch(responder.core._factory, "stdoutWriter", lambda: writer)

    def stdout(self) -> str:
        try:
            return os.read(self.read, 1 << 16).decode()
        except BlockingIOError:
            return ""

    def serve(self, config: ResponderConfig) -> Harness:
        harness = Harness(config)
        protocol, _ = harness.connect()
        protocol.dataReceived(b"hello\0")
        self.assertEqual(self.stdout(), "", "at the end of the iteration")
        return harness

    def test_text(self) -> None:
        harness = self.serve(ResponderConfig(requestLog="stdout"))
        harness.clock.advance(0)
        self.assertRegex(
            self.stdout(),
            r"^\S+ \[responder#info\] 192\.0\.2\.7:40000 hello\n$",
        )
        self.assertEqual(harness.logged(), [], "not a twisted.logger event")

    def test_json(self) -> None:
        harness = self.serve(ResponderConfig(requestLog="stdout", logFormat="json"))
        harness.clock.advance(0)
        record = json.loads(self.stdout())
        self.assertEqual(record["request"], "hello")

    def test_dropped_lines_counted(self) -> None:
        """
        Lines the log drops count in the factory's stats, where metrics
        read them.
        """
        harness = self.serve(ResponderConfig(requestLog="stdout"))
        self.writer.onDropped(3)
        self.writer.onDropped(2)
        self.assertEqual(harness.factory.stats.logDropped, 5)

    def test_flushed_when_drained(self) -> None:
        """
        Request lines still waiting for the end of the iteration are written
        as soon as a drain finds no connection left.
        """
        harness = Harness(ResponderConfig(requestLog="stdout"))
        protocol, _ = harness.connect()
        protocol.dataReceived(b"hello\0")
        drained = harness.factory.drain(10)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(drained)
        self.assertIn("hello", self.stdout())

    def test_drain_quiet(self) -> None:
        harness = Harness(ResponderConfig(quiet=True))
        protocol, _ = harness.connect()
        drained = harness.factory.drain(10)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(drained)


class ReloadLogTests(SynchronousTestCase):
    def test_reload_lines(self) -> None:
        path = writeRules('[[rule]]\nequals = "A"\nresponse = "B"\n')
        harness = Harness(ResponderConfig(rules=path))
        Path(path).write_text('[[rule]]\nequals = "A"\nresponse = "B"\n' * 2)
        harness.factory.reloadRules()
        self.assertEqual(harness.logged(), [f"reloaded 2 rules from {path}"])
        Path(path).write_text("[[rule]]\n")
        harness.factory.reloadRules()
        self.assertRegex(
            harness.logged()[-1],
            r"^rules not reloaded, keeping the old ones: \S+rules\.toml:1: ",
        )

    def test_no_rules_file(self) -> None:
        harness = Harness()
        harness.factory.reloadRules()
        self.assertEqual(harness.logged(), [])
        self.assertIsNone(harness.factory.rules)
