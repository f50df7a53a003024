"""
Helpers shared by the unit tests: a factory with captured log events and a
clock, and a connection over a L{StringTransport}.
"""

from typing import cast

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import ILogObserver, LogEvent, Logger, formatEvent

from responder import ResponderConfig, ResponderFactory

PEER = IPv4Address("TCP", "192.0.2.7", 40000)


class Harness:
    """
    A L{ResponderFactory} on a L{Clock}, whose log events are kept.
    """

    def __init__(self, config: ResponderConfig | None = None) -> None:
        self.clock = Clock()
        self.events: list[LogEvent] = []
        log = Logger(
            namespace="responder", observer=cast(ILogObserver, self.events.append)
        )
        self.factory = ResponderFactory(config, clock=self.clock, log=log)
        self.factory.wallClock = self.clock.seconds

    def connect(self, peer: IAddress = PEER) -> tuple[Protocol, StringTransport]:
        """
        Build a protocol for a connection from C{peer} and connect it.
        """
        protocol = self.factory.buildProtocol(peer)
        assert protocol is not None
        transport = StringTransport(peerAddress=peer)
        protocol.makeConnection(transport)
        return protocol, transport

    def logged(self) -> list[str]:
        """
        The log lines written so far, as text.
        """
        return [formatEvent(event) for event in self.events]
