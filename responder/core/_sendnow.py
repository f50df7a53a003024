"""
A TCP transport that sends at once: the one module that relies on the
private internals of Twisted's C{tcp.Server} and C{FileDescriptor}.

Twisted's C{write} only buffers: the socket is registered for writing, the
reactor polls, C{doWrite} sends, and the socket is unregistered again; a
C{loseConnection} with nothing left to send also waits for that poll before
it shuts the socket down.  For a 21-byte answer that is two C{epoll_ctl}
calls and a reactor iteration per response.  asyncio's transports instead
try the C{send} at once when nothing is buffered; L{SendAtOnceServer} does
the same, and closes at once when nothing is left to send.  Everything else
(partial sends, a full buffer pausing a producer, a client that is not
reading, TLS started on the transport) takes Twisted's own path.

The durable request log is unaffected: answers reach a transport only once
their lines are written (L{ResponderFactory.afterLog}), so sending inside
C{write} still sends after the line.

What this relies on, each checked by C{tests/core/test_sendnow.py} so that
a Twisted upgrade that changes it fails a test: C{tcp.Port.transport} names
the class each accepted connection gets; C{FileDescriptor} buffers in
C{dataBuffer}, C{offset}, C{_tempDataLen}; C{writeSomeData} sends what it
can and returns a count, or an exception for a lost connection; a
C{loseConnection} is done by C{connectionLost(CONNECTION_DONE)}, which
Twisted itself calls from C{loseConnection} after a half-close; and
C{_shouldShutdown} decides whether C{shutdown(2)} precedes C{close}.
"""

from twisted.internet import main, tcp
from twisted.internet.interfaces import IListeningPort
from twisted.python.failure import Failure

#: The reason every clean close gives, made once, as Twisted's reactor makes
#: its own (C{_disconnectSelectable}): a C{Failure} caches the class names
#: that C{check} compares, so a shared one checks cheaply.
_DONE = Failure(main.CONNECTION_DONE)


class SendAtOnceServer(tcp.Server):
    """
    A C{tcp.Server} that sends when its buffer is empty and closes when
    nothing is left to send, without waiting for the next reactor
    iteration.
    """

    #: Close without C{shutdown(2)} first: Twisted sets close-on-exec on
    #: every accepted socket, so this process holds its only descriptor
    #: and C{close} alone sends the FIN (Twisted's own comment in
    #: C{_SocketCloser} says the same); the C{shutdown} was a system call
    #: per connection.
    _shouldShutdown = False

    def _idle(self) -> bool:
        """
        Whether nothing is waiting to be sent and the socket is ours to use
        directly: connected, no TLS on this transport, no half-close done.
        """
        return bool(
            self.connected
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
        """
        if data and type(data) is bytes and self._idle():
            sent = self.writeSomeData(data)
            if isinstance(sent, int):
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
        ):
            self.disconnecting = True
            self.connectionLost(_DONE)
            return
        super().loseConnection()  # type: ignore[no-untyped-call]


def sendAtOnce(port: IListeningPort) -> bool:
    """
    Give the connections C{port} accepts from now on a L{SendAtOnceServer}
    transport, if it is a TCP port with Twisted's stock transport (with or
    without TLS above it); leave any other port alone.

    @return: whether C{port} now uses L{SendAtOnceServer}.
    """
    if isinstance(port, tcp.Port) and port.transport is tcp.Server:
        port.transport = SendAtOnceServer
        return True
    return False
