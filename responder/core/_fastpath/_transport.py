"""
The transport of the fast path: a C{tcp.Server} that sends and closes at
once, and reads at once when its port says so.
"""

import socket
import sys
from typing import Any

from twisted.internet import error, main, tcp
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IProtocol, IReactorFDSet, ITransport
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._registration import RegisteringServer

_log = Logger()

#: The reason every clean close gives, made once, as Twisted's reactor makes
#: its own (C{_disconnectSelectable}): a C{Failure} caches the class names
#: that C{check} compares, so a shared one checks cheaply.
_DONE = Failure(main.CONNECTION_DONE)

TCPAddress = IPv4Address | IPv6Address

#: "More is coming": hold a send's segment for the FIN that follows it
#: (Linux; elsewhere no flag, and the FIN goes in a segment of its own).
_MORE: int = getattr(socket, "MSG_MORE", 0)


class SendAtOnceServer(RegisteringServer):
    """
    A C{tcp.Server} that sends when its buffer is empty and closes when
    nothing is left to send, without waiting for the next reactor
    iteration; accepted by a L{ReadAtOncePort}, it also reads at once.
    """

    #: Close without C{shutdown(2)} first: Twisted sets close-on-exec on
    #: every accepted socket, so this process holds its only descriptor
    #: and C{close} alone sends the FIN (Twisted's own comment in
    #: C{_SocketCloser} says the same); the C{shutdown} was a system call
    #: per connection.
    _shouldShutdown = False

    #: The peer's address as the port built it for C{buildProtocol}.
    _peer: TCPAddress | None = None

    def __init__(
        self,
        sock: socket.SocketType,
        protocol: IProtocol,
        client: tuple[Any, ...],
        server: tcp.Port,
        sessionno: int,
        reactor: IReactorFDSet,
        peer: TCPAddress | None = None,
    ) -> None:
        """
        Set what C{tcp.Server.__init__} (with C{Connection}'s and
        C{FileDescriptor}'s) sets, except its two names for logs, which
        L{logPrefix} and C{__repr__} make only when asked: formatting them
        for every connection cost more than everything else here together.

        @param peer: given by a L{ReadAtOncePort}: the address it built for
            C{buildProtocol}.  The port reads from the connection before it
            registers it, so registering waits for
            L{RegisteringServer.release}.
        """
        if peer is not None:
            self._held = True
            self._peer = peer
        self.reactor = reactor
        self._tempDataBuffer = []
        self._tempDataLen = 0
        self.socket = sock  # type: ignore[assignment]  # the C type has all it uses
        sock.setblocking(False)
        self.fileno = sock.fileno
        self.protocol = protocol
        if len(client) != 2:
            self._addressType = IPv6Address
        self.server = server
        self.client = client
        self.sessionno = sessionno
        self.hostname = client[0]
        if peer is None:
            self.startReading()
        else:
            self._wantRead = True
        self.connected = 1

    def logPrefix(self) -> str:
        """
        What C{tcp.Server} would have made its C{logstr}, made once asked.
        """
        logstr = self.__dict__.get("logstr")
        if logstr is None:
            protocol = self.__dict__.get("protocol")
            name = (
                self.__class__.__name__
                if protocol is None
                else self._getLogPrefix(protocol)
            )
            logstr = self.logstr = f"{name},{self.sessionno},{self.hostname}"
        return logstr

    def __repr__(self) -> str:
        """
        What C{tcp.Server} would have made its C{repstr}; once the
        connection is closed and Twisted has forgotten the protocol, with
        this class's name instead of the protocol's.
        """
        named = self.__dict__.get("protocol", self).__class__.__name__
        return f"<{named} #{self.sessionno} on {self.server._realPortNumber}>"

    def getPeer(self) -> TCPAddress:
        """
        The peer's address, the one the port already built if there is one
        (addresses are immutable).
        """
        peer = self._peer
        return super().getPeer() if peer is None else peer  # type: ignore[no-untyped-call]

    def doRead(self) -> error.ConnectionLost | error.ConnectionDone | None:  # type: ignore[override]
        """
        Twisted's own C{tcp.Connection.doRead}, with its C{_dataReceived}
        written in: read what there is and hand it to the protocol.
        """
        try:
            data = self.socket.recv(self.bufferSize)
        except BlockingIOError:
            return None
        except OSError:
            return main.CONNECTION_LOST
        if not data:
            return main.CONNECTION_DONE
        self.protocol.dataReceived(data)
        return None

    def readAtOnce(self) -> None:
        """
        Read what the client has sent already, as the reactor would on a
        read event, while registration is held.
        """
        if not (self._wantRead and self.connected):
            return
        why: object
        try:
            why = self.doRead()
        except BaseException:
            why = sys.exc_info()[1]
            _log.failure("Unhandled error reading from {transport}", transport=self)
        if why:
            self._held = False
            if isinstance(why, error.ConnectionDone):
                self.readConnectionLost(Failure(why))
            else:
                self.connectionLost(Failure(why))

    def _idle(self) -> bool:
        """
        Whether nothing is waiting to be sent and the socket is ours to use
        directly: connected, not being aborted, no TLS on this transport, no
        half-close done.
        """
        return bool(
            self.connected
            and not self._aborting
            and not self.TLS
            and not self._writeDisconnected
            and not self._tempDataLen
            and self.offset == len(self.dataBuffer)
        )

    def write(self, data: bytes) -> None:
        """
        Send C{data} now if nothing is buffered; buffer what the socket did
        not take (or everything, if sending failed: Twisted's C{doWrite}
        then meets the same error and reports it).

        If the protocol is closing (a responder protocol's C{closing},
        L{ResponderProtocol.close}: its C{loseConnection} comes right after
        the writes queued before it), the send says C{MSG_MORE}: the kernel
        holds the segment until the close adds the FIN to it, and the answer
        and the FIN leave as one segment instead of two, which saves the
        server a segment's transmission (and, on loopback, its delivery) on
        every one-shot connection.  A protocol that is not closing is never
        held back.
        """
        if data and type(data) is bytes and self._idle():
            try:
                sent = self.socket.send(
                    data, _MORE if getattr(self.protocol, "closing", False) else 0
                )
            except OSError:
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        super().write(data)  # type: ignore[no-untyped-call]

    def loseConnection(self) -> None:
        """
        Close now if nothing is left to send and no producer is registered
        (a producer holds a close back until it is done); otherwise as
        Twisted does, once the buffer has been sent.
        """
        if (
            self._idle()
            and not self.disconnecting
            and not self._writeDisconnecting
            and self.producer is None
            # A wrapping protocol (TLS, PROXY) is a transport itself, and
            # may go on working after asking to close, as Twisted's own
            # close lets it: only a plain protocol hears of it at once.
            and not ITransport.providedBy(self.protocol)
        ):
            try:
                self._closeNow()
            except BaseException:
                # As the reactor would, had it called connectionLost.
                _log.failure("Unhandled error closing {transport}", transport=self)
            return
        super().loseConnection()  # type: ignore[no-untyped-call]

    def _closeNow(self) -> None:
        """
        What Twisted does for a clean close once the reactor finds the
        socket writable (C{FileDescriptor.connectionLost}, then
        C{tcp.Connection.connectionLost} with an orderly close), for a
        connection with no producer and nothing to send: mark it closed,
        leave the reactor only if registered with it, close the socket
        (without C{shutdown(2)}), forget the protocol, and tell it, with
        the one clean-close reason that needs no C{Failure.check}.
        """
        self.disconnecting = True
        self.disconnected = 1
        self.connected = 0
        if self._reading:
            self.stopReading()
        if self._writing:
            self.stopWriting()
        try:
            self.socket.close()
        except OSError:
            pass
        protocol = self.protocol
        del self.protocol
        del self.socket
        del self.fileno
        protocol.connectionLost(_DONE)
