"""
The agent protocol: on each connection, one line with the state, then
close (HAProxy's C{agent-check}: words such as C{ready}, C{drain},
C{maint}, C{up}, or a weight, ended by a newline).
"""

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.logger import Logger

from ..core import EndpointService, ResponderService

#: What the agent says while the server serves: take new connections (and
#: leave any drain an earlier process of this server asked for).
READY = b"ready\n"

#: What the agent says once the server is stopping: send no new
#: connections, let those open finish.
DRAIN = b"drain\n"


class AgentProtocol(Protocol):
    """
    Say the state and close.
    """

    factory: "AgentFactory"

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(self.factory.state)
        self.transport.loseConnection()


class AgentFactory(Factory):
    """
    The agent's state, and the wait between saying C{drain} and stopping.

    @ivar state: the line every agent check gets now.
    @ivar drainFor: seconds to say C{drain} before the server stops
        listening.
    """

    noisy = False
    log = Logger(namespace="responder")

    def __init__(self, clock: IReactorTime, drainFor: float) -> None:
        self.clock = clock
        self.drainFor = drainFor
        self.state = READY

    def buildProtocol(self, addr: IAddress | None) -> Protocol | None:
        protocol = AgentProtocol()
        protocol.factory = self
        return protocol

    def announceStop(self) -> Deferred[None]:
        """
        Say C{drain} from now on; fire after L{drainFor} seconds, when the
        load balancer has stopped sending new connections.
        """
        self.state = DRAIN
        self.log.info(
            "stopping: agent checks get 'drain' for {seconds:g} s before the "
            "server stops listening",
            seconds=self.drainFor,
        )
        return deferLater(self.clock, self.drainFor, lambda: None)


def agentService(
    description: str, server: ResponderService, clock: IReactorTime, drainFor: float
) -> EndpointService:
    """
    Serve the agent on C{description} (already checked), as a child of
    C{server}: C{server}'s stop first waits for the drain announcement,
    then closes every port, the agent's with its own.
    """
    factory = AgentFactory(clock, drainFor)
    server.beforeStop.append(factory.announceStop)
    service = EndpointService(
        description,
        serverFromString(clock, description),
        factory,
        purpose="agent checks",
    )
    service.setServiceParent(server)  # type: ignore[no-untyped-call]
    return service
