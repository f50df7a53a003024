"""
Every answered request's line reaches the log before its answer reaches the
transport: answers, closes and resets wait for the write of their lines.
"""

import shutil
import tempfile
from pathlib import Path

from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig
from responder.logs import StreamRequestLog

from ..support import Harness

RESPONSE = b"This is the response\0"


class RecordingTransport(StringTransport):
    """
    A transport that notes, in a shared record, what is done to it.
    """

    def __init__(self, events: list[object]) -> None:
        super().__init__()
        self.events = events

    def write(self, data: bytes) -> None:
        self.events.append(("send", data))
        super().write(data)

    def loseConnection(self) -> None:
        self.events.append("close")
        super().loseConnection()

    def abortConnection(self) -> None:
        self.events.append("reset")
        super().abortConnection()


class Sink:
    def __init__(self, events: list[object]) -> None:
        self.events = events

    def write(self, text: str, lines: int) -> None:
        self.events.append(
            ("log", [line.rsplit(" ", 1)[1] for line in text.splitlines()])
        )


class DurableTests(SynchronousTestCase):
    def connect(
        self, config: ResponderConfig | None = None
    ) -> tuple[Harness, list[object]]:
        harness = Harness(config)
        events: list[object] = []
        harness.factory.requestLog = StreamRequestLog(Sink(events), harness.clock)
        protocol = harness.factory.buildProtocol(None)
        assert protocol is not None
        transport = RecordingTransport(events)
        protocol.makeConnection(transport)
        self.protocol = protocol
        return harness, events

    def test_answer_after_line(self) -> None:
        harness, events = self.connect()
        self.protocol.dataReceived(b"hello\0")
        self.assertEqual(events, [], "nothing until the end of the iteration")
        harness.clock.advance(0)
        self.assertEqual(events, [("log", ["hello"]), ("send", RESPONSE), "close"])

    def test_keep_alive_in_order(self) -> None:
        harness, events = self.connect(ResponderConfig(keepAlive=True))
        self.protocol.dataReceived(b"a\0b\0")
        harness.clock.advance(0)
        self.assertEqual(
            events, [("log", ["a", "b"]), ("send", RESPONSE), ("send", RESPONSE)]
        )

    def test_faults_after_line(self) -> None:
        """
        A close or reset rule acts only once its request's line is written.
        """
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        rules = Path(folder) / "rules.toml"
        rules.write_text(
            '[[rule]]\nequals = "c"\nfault = "close"\n'
            '[[rule]]\nequals = "r"\nfault = "reset"\n'
        )
        for request, action in ((b"c\0", "close"), (b"r\0", "reset")):
            harness, events = self.connect(ResponderConfig(rules=str(rules)))
            self.protocol.dataReceived(request)
            self.assertEqual(events, [])
            harness.clock.advance(0)
            # (StringTransport closes as it aborts.)
            self.assertEqual(events[:2], [("log", [request[:1].decode()]), action])
