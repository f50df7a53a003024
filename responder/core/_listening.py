"""
Listening on an endpoint as a service, with messages operators can use.
"""

from collections.abc import Callable

from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._address import describeAddress


class ListenFailed(Exception):
    """
    An endpoint could not listen.  The message is one line for operators.
    """


class EndpointService(Service):
    """
    Listen on one endpoint while running, and log the address actually
    bound, so that C{--port 0} tells scripts which port it picked.

    Unlike C{twisted.application.internet.StreamServerEndpointService},
    this keeps the endpoint's description for its messages and exposes the
    listening port.

    @ivar purpose: what the endpoint is for, in messages (C{" for metrics"}),
        or nothing for the responder's own endpoints.
    @ivar port: the listening port, once listening.
    @ivar onListening: called with the port once listening, if given.
    """

    log = Logger(namespace="responder")

    def __init__(
        self,
        description: str,
        endpoint: IStreamServerEndpoint,
        factory: IProtocolFactory,
        purpose: str = "",
        onListening: Callable[[IListeningPort], object] | None = None,
    ) -> None:
        self.description = description
        self.onListening = onListening
        self.endpoint = endpoint
        self.factory = factory
        self.purpose = f" for {purpose}" if purpose else ""
        self.port: IListeningPort | None = None
        self._listening: Deferred[IListeningPort] | None = None

    def privilegedStartService(self) -> None:
        """
        Listen before twistd drops privileges, so low ports work with
        C{--uid}.

        @raise ListenFailed: if the endpoint failed to listen at once, as
            TCP, unix and systemd endpoints do; there is no point starting.
        """
        super().privilegedStartService()  # type: ignore[no-untyped-call]
        self._listen()

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        self._listen()

    def _listen(self) -> None:
        if self._listening is not None:
            return
        failures: list[Failure] = []
        self._listening = self.endpoint.listen(self.factory)
        self._listening.addCallbacks(self._listened, failures.append)
        if failures:
            self._listening = None
            reason = failures[0].getErrorMessage()
            raise ListenFailed(
                f"cannot listen on {self.description}{self.purpose}: {reason}"
            )

    def _listened(self, port: IListeningPort) -> IListeningPort:
        self.port = port
        if self.onListening is not None:
            self.onListening(port)
        self.log.info(
            "listening on {address}{purpose}",
            address=describeAddress(port.getHost()),
            purpose=self.purpose,
        )
        return port

    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        listening, self._listening = self._listening, None
        port, self.port = self.port, None
        if port is not None:
            stopped = port.stopListening()
            return succeed(None) if stopped is None else stopped
        if listening is not None:
            listening.cancel()
        return succeed(None)
