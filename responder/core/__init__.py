"""
The connection core: what serves connections in one process.

The protocols hold one connection's state (L{ResponderProtocol} answers
once, L{KeepAliveProtocol} every delimited request); the factory holds the
configuration and what connections share (admission, the registry of open
connections and their deadlines, the request log, the rules in force, the
counters); L{ResponderService} listens on the endpoints around one factory
and stops gracefully.  Framing, rules and escaping come from the pure
packages below; nothing here knows of workers or metrics.
"""

from ._address import describeAddress, hostOf
from ._admission import (
    REFUSED_BY_ACCESS,
    REFUSED_BY_LIMIT,
    REFUSED_BY_PEER_LIMIT,
    AccessRules,
    Admission,
    PeerCounts,
    RefusalReporter,
)
from ._clock import useMonotonicClock
from ._connections import ConnectionRegistry
from ._factory import ResponderFactory
from ._fastpath import ReadAtOncePort, SendAtOnceServer, sendAtOnce
from ._hangup import HangupHandler
from ._host import Connection, ConnectionHost
from ._keepalive import KeepAliveProtocol
from ._listening import EndpointService, ListenFailed
from ._protocol import ResponderProtocol
from ._proxy import (
    PROXY_MALFORMED,
    PROXY_MISSING,
    PROXY_UNTRUSTED,
    ProxiedProtocol,
    ProxyEndpoint,
    ProxyWrappingFactory,
    serverEndpoint,
)
from ._reactor import installedReactor
from ._service import (
    ResponderService,
    descriptorBudget,
    exitOnListenFailure,
    raiseFileLimit,
)
from ._stats import LATENCY_BUCKETS, LatencyHistogram, ResponderStats

__all__ = [
    "LATENCY_BUCKETS",
    "PROXY_MALFORMED",
    "PROXY_MISSING",
    "PROXY_UNTRUSTED",
    "REFUSED_BY_ACCESS",
    "REFUSED_BY_LIMIT",
    "REFUSED_BY_PEER_LIMIT",
    "AccessRules",
    "Admission",
    "Connection",
    "ConnectionHost",
    "ConnectionRegistry",
    "EndpointService",
    "HangupHandler",
    "KeepAliveProtocol",
    "LatencyHistogram",
    "ListenFailed",
    "PeerCounts",
    "ProxiedProtocol",
    "ProxyEndpoint",
    "ProxyWrappingFactory",
    "ReadAtOncePort",
    "RefusalReporter",
    "ResponderFactory",
    "ResponderProtocol",
    "ResponderService",
    "ResponderStats",
    "SendAtOnceServer",
    "describeAddress",
    "descriptorBudget",
    "exitOnListenFailure",
    "hostOf",
    "installedReactor",
    "raiseFileLimit",
    "sendAtOnce",
    "serverEndpoint",
    "useMonotonicClock",
]
