"""
The fast path for TCP: a port and a transport that read, send and close at
once.  This package is the one place that relies on the private internals
of Twisted's C{tcp.Port}, C{tcp.Server}, C{FileDescriptor} and
C{EPollReactor}.

Twisted's C{write} only buffers: the socket is registered for writing, the
reactor polls, C{doWrite} sends, and the socket is unregistered again; a
C{loseConnection} with nothing left to send also waits for that poll; and a
new connection is registered for reading and waits for a poll before its
first C{recv}, although a client usually sends its request right after the
handshake.  For a 21-byte answer that is four C{epoll_ctl} calls and two
reactor iterations per connection.  asyncio's transports instead try the
C{send} at once when nothing is buffered.  Here:

  - L{SendAtOnceServer} sends when nothing is buffered and closes when
    nothing is left to send, without waiting for the next iteration; the
    answer of a protocol that is closing goes with C{MSG_MORE}, so that it
    and the FIN leave in one segment;
  - L{ReadAtOncePort} reads from the connections it has just accepted
    before it registers them, hands over to C{afterReads} (the request
    log's write, so that the answers it held go out now), and registers
    only those still open: a one-shot connection whose request had
    arrived costs no C{epoll_ctl} at all;
  - the reactor calls these two classes' C{doRead} directly rather than
    through C{log.callWithLogger} (L{dispatchDirectly}), which sets up a
    logging context for every event (1.6 us each), and the transport
    registers with Twisted's epoll reactor itself, in one call rather
    than four;
  - the little things each connection paid for: Twisted's accept loop (a
    generator, and a logger made for every batch), the C{socket} module's
    C{accept} wrapper (which turns the family and type into enums), a
    second peer address, C{Failure.check} on a clean close and
    C{shutdown(2)} before C{close}.

Everything else (partial sends, a full buffer pausing a producer, a client
that is not reading, TLS started on the transport, aborts, half-closes)
takes Twisted's own path.  The durable request log is unaffected: answers
reach a transport only once their lines are written
(L{ResponderFactory.afterLog}).

Every internal this relies on is checked by C{tests/core/test_sendnow.py}
and C{tests/core/test_readatonce.py}, so that a Twisted upgrade that
changes one fails a test; and C{--stock-transport} goes back to Twisted's
own port, transport and dispatch.
"""

from ._dispatch import dispatchDirectly
from ._port import ReadAtOncePort, sendAtOnce
from ._transport import SendAtOnceServer

__all__ = ["ReadAtOncePort", "SendAtOnceServer", "dispatchDirectly", "sendAtOnce"]
