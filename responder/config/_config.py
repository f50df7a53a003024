"""
The one configuration object.

Every way in (the twistd options, the tac file's environment variables, an
embedding application's own code) ends in a L{ResponderConfig}, and every
part of the server reads its settings from one.  It holds checked values
only: turning text into them is the job of L{responder.options}.
"""

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network

DEFAULT_RESPONSE = b"This is the response"
DEFAULT_PORT = "tcp:1984"

Network = IPv4Network | IPv6Network


@dataclass(frozen=True)
class ResponderConfig:
    """
    Everything that decides how responder behaves.

    @ivar endpoints: endpoint descriptions to listen on, as accepted by
        C{twisted.internet.endpoints.serverFromString}.
    @ivar response: the reply, sent with a NUL byte appended.
    @ivar maxRequest: bytes of a request that are kept; the rest is
        discarded, so a client cannot make the server buffer without bound.
    @ivar timeout: seconds a connection may take to complete its request
        before it is closed (and aborted if it will not close).
    @ivar maxConnections: open connections allowed at once; C{None} for no
        limit.
    @ivar maxPerIP: open connections allowed at once from one address;
        C{None} for no limit.
    @ivar busyResponse: sent (with a NUL) to a connection refused by a limit,
        before it is closed; C{None} closes it without a word.
    @ivar allow: if not empty, only peers in these networks are served.
    @ivar deny: peers in these networks are never served.
    @ivar backlog: listen queue length for endpoints that take one.
    @ivar drainTimeout: seconds a stopping server waits for open
        connections to finish before it aborts them.
    @ivar quiet: do not log requests.
    @ivar keepAlive: keep connections open and answer each delimited
        request on them, instead of answering once and closing.
    @ivar keepAliveRequests: requests a keep-alive connection is answered
        before it is closed, after the last of them; C{None} for no limit.
    @ivar keepAliveTime: seconds a keep-alive connection is kept, however
        busy: the response in progress when they have passed is its last.
    @ivar delimiter: the byte that ends a request: the one request of a
        connection is cut there, and in keep-alive mode it separates them.
    @ivar workers: processes serving the same listening sockets.
    @ivar workerTimeout: seconds a worker may go without a heartbeat (its
        reactor blocked, or the process stopped) before it is killed and
        replaced; also how long it has to become ready.
    @ivar workerSockets: how workers get TCP connections: C{"reuseport"},
        a listening socket of its own for each worker, all bound to the
        same address with C{SO_REUSEPORT}, among which the kernel spreads
        connections; or C{"shared"}, one listening socket that every worker
        accepts from.  C{unix:} and C{systemd:} sockets are always shared.
    @ivar metrics: endpoint description to serve Prometheus metrics on, or
        C{None} for none.
    @ivar rules: path of a rules file (see L{responder.rules}) choosing
        answers and faults by request, or C{None}.
    @ivar rulesOutsideFolder: let the rules file's response and greeting
        files, and symlinks to them, lead outside its folder.
    @ivar stockTransport: leave TCP ports Twisted's own port, transport
        and dispatch, which read, send and close each on a reactor
        iteration of its own, instead of the fast path that does them at
        once (see L{responder.core.sendAtOnce}): a way back should a
        Twisted upgrade break the latter.
    @ivar trustedProxies: behind C{haproxy:}, the networks whose PROXY
        headers are believed; a connection from elsewhere is refused, and
        C{allow}, C{deny} and C{maxPerIP} apply to the client address the
        header reports.  Empty: every peer may send a header, and limits
        apply to the address that connected.
    @ivar logFormat: C{"text"} or C{"json"}, for request lines written
        straight to stdout (and, through the runner, for every log line).
    @ivar agent: endpoint description to answer HAProxy's agent checks on,
        or C{None} for none.
    @ivar agentDrain: seconds a stopping server tells agent checks
        C{drain} while it still serves, before it stops listening.
    @ivar requestLog: C{"twisted"} to log each request as a
        C{twisted.logger} event, C{"stdout"} to write request lines straight
        to standard output in twistd's text format, which is much cheaper
        (see L{responder.logs}).
    @ivar journal: requests kept in memory for the control API (see
        L{responder.journal}); 0 keeps none.
    @ivar admin: endpoint description to serve the control API on (see
        L{responder.admin}), or C{None} for none.
    @ivar adminToken: the bearer token every control API request must
        carry, or C{None} to ask for none (only on loopback or unix
        endpoints); never shown by C{repr}.
    """

    endpoints: tuple[str, ...] = (DEFAULT_PORT,)
    response: bytes = DEFAULT_RESPONSE
    maxRequest: int = 1024
    timeout: float = 30.0
    maxConnections: int | None = None
    maxPerIP: int | None = None
    busyResponse: bytes | None = None
    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()
    backlog: int = 4096
    drainTimeout: float = 10.0
    quiet: bool = False
    requestLog: str = "twisted"
    keepAlive: bool = False
    keepAliveRequests: int | None = None
    keepAliveTime: float = 3600.0
    delimiter: bytes = b"\0"
    workers: int = 1
    workerTimeout: float = 10.0
    workerSockets: str = "reuseport"
    metrics: str | None = None
    logFormat: str = "text"
    rules: str | None = None
    rulesOutsideFolder: bool = False
    trustedProxies: tuple[Network, ...] = ()
    agent: str | None = None
    agentDrain: float = 3.0
    journal: int = 10_000
    admin: str | None = None
    adminToken: bytes | None = field(default=None, repr=False)
    stockTransport: bool = False
