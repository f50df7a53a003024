"""
What a connection and the factory that made it need of each other, as
typing protocols: the protocol module knows its factory only by this
interface, and the connection registry knows connections only by theirs,
so no two modules of the core import each other.
"""

from collections.abc import Callable
from typing import Protocol

from twisted.internet.interfaces import IReactorTime, ITCPTransport

from ..config import ResponderConfig
from ..logs import ANSWERED
from ..rules import Rule, Rules
from ._stats import ResponderStats


class Connection(Protocol):
    """
    One open connection, as the registry of open connections sees it.

    @ivar deadline: when it is next due to be closed (or aborted, once
        closing), in the clock's seconds.
    @ivar closing: whether it has been asked to close.
    @ivar holding: whether a rule holds it open on purpose.
    @ivar peerHost: the address it counts against in the per-address limit.
    """

    transport: ITCPTransport
    deadline: float
    closing: bool
    holding: bool
    peerHost: str | None
    peerName: str | None

    def close(self) -> None:
        """
        Close once everything written has been sent.
        """

    def drain(self) -> None:
        """
        The server is stopping: finish what is under way, then close.
        """


class ConnectionHost(Protocol):
    """
    What a connection's protocol uses of its factory: the configuration
    and shared state, and the three moments it reports.
    """

    config: ResponderConfig
    clock: IReactorTime
    stats: ResponderStats
    rules: Rules | None
    responseBytes: bytes
    measuringLatency: bool

    def afterLog(self, action: Callable[..., object], *args: object) -> None:
        """
        Call C{action(*args)} once the requests received so far have their
        lines in the log: what an answer does to its transport waits for
        its line.
        """

    def connectionOpened(self, connection: Connection) -> None:
        """
        A connection was made: track it and give it its deadline.
        """

    def connectionClosed(self, connection: Connection) -> None:
        """
        A connection has gone.
        """

    def requestReceived(
        self,
        connection: Connection,
        request: bytes,
        outcome: str = ANSWERED,
        rule: Rule | None = None,
    ) -> None:
        """
        A request is about to be answered, or to meet the fault of C{rule}.
        """
