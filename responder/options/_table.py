"""
The table of C{twistd responder}'s options: each one's name, default, help
and checker, as C{usage.Options} reads them.  L{Options} turns the parsed
values into the configuration.
"""

from typing import Any

from ..config import DEFAULT_PORT, DEFAULT_RESPONSE, ResponderConfig
from ._parsers import (
    choice,
    countOrZero,
    parameter,
    positiveInt,
    positiveSeconds,
)

_DEFAULTS = ResponderConfig()

PARAMETERS: list[list[Any]] = [
    [
        "port",
        "p",
        None,
        "Port number or endpoint description to listen on, such as "
        "tcp:1984:interface=127.0.0.1, tcp6:1984, unix:/run/responder.sock, "
        "ssl:1984:privateKey=key.pem:certKey=cert.pem, "
        "systemd:domain=INET:index=0, haproxy:tcp:1984. "
        f"[default: {DEFAULT_PORT}]",
    ],
    [
        "response",
        "r",
        DEFAULT_RESPONSE.decode(),
        "Response text, sent as UTF-8 with a NUL byte appended.",
    ],
    parameter(
        "max-request",
        _DEFAULTS.maxRequest,
        "Bytes of a request that are kept; the rest is discarded.",
        positiveInt,
    ),
    parameter(
        "timeout",
        _DEFAULTS.timeout,
        "Seconds a connection gets to complete its request.",
        positiveSeconds,
    ),
    parameter(
        "max-connections",
        None,
        "Open connections allowed at once; more are refused. [default: no limit]",
        positiveInt,
    ),
    parameter(
        "max-per-ip",
        None,
        "Open connections allowed at once from one IP address. [default: no limit]",
        positiveInt,
    ),
    [
        "busy-response",
        None,
        None,
        "Text sent (with a NUL) to connections refused by a limit before "
        "they are closed. [default: close without a reply]",
    ],
    parameter(
        "backlog",
        _DEFAULTS.backlog,
        "Listen queue length for tcp:, tcp6:, ssl: and unix: endpoints "
        "(the kernel caps it at net.core.somaxconn).",
        positiveInt,
    ),
    [
        "delimiter",
        None,
        "nul",
        "What ends a request: nul, newline (a CR before it is dropped), or "
        "one ASCII character. A request is cut there; in keep-alive mode "
        "it also separates requests.",
    ],
    parameter(
        "workers",
        _DEFAULTS.workers,
        "Processes serving the same endpoints.",
        positiveInt,
    ),
    parameter(
        "worker-timeout",
        _DEFAULTS.workerTimeout,
        "Seconds a worker may go without a heartbeat (stuck) or take to "
        "start before it is killed and replaced.",
        positiveSeconds,
    ),
    parameter(
        "worker-sockets",
        _DEFAULTS.workerSockets,
        "How workers share a tcp:, tcp6: or ssl: endpoint: 'reuseport' gives "
        "each worker a listening socket of its own (SO_REUSEPORT, Linux), "
        "'shared' has them all accept from one (as unix: and systemd: "
        "endpoints always do).",
        choice("reuseport", "shared"),
    ),
    [
        "rules",
        None,
        None,
        "TOML file of rules choosing answers and faults by request (see "
        "docs/rules.md); SIGHUP reloads it. [default: none]",
    ],
    [
        "metrics",
        None,
        None,
        "Endpoint to serve Prometheus metrics on at /metrics; a bare port "
        "number listens on 127.0.0.1 only (tcp:9100:interface=0.0.0.0 for "
        "every interface). [default: none]",
    ],
    [
        "agent",
        None,
        None,
        "Endpoint to answer HAProxy's agent checks on (agent-check): "
        "'ready', then 'drain' once stopping. [default: none]",
    ],
    parameter(
        "agent-drain",
        _DEFAULTS.agentDrain,
        "With --agent: seconds a stopping server answers 'drain' while it "
        "still serves, before it stops listening (more than HAProxy's "
        "agent-inter).",
        positiveSeconds,
    ),
    [
        "admin",
        None,
        None,
        "Endpoint to serve the control API on (HTTP/JSON: the request "
        "journal, rules, reset; see docs/control-api.md), such as "
        "tcp:8019:interface=127.0.0.1. [default: none]",
    ],
    ["admin-token", None, None, "Bearer token the control API asks for."],
    ["admin-token-file", None, None, "File whose first line is that token."],
    parameter(
        "journal",
        _DEFAULTS.journal,
        "Requests kept in memory for the control API; 0 keeps none.",
        countOrZero,
    ),
    parameter(
        "log-format",
        "text",
        "text, or json: one JSON object per line, for jq and log shippers "
        "(under twistd, with --nodaemon and no --logfile).",
        choice("text", "json"),
    ),
    parameter(
        "request-log",
        "auto",
        "Where request lines go: 'stdout' writes them straight to standard "
        "output (fast), 'twisted' logs them as twisted.logger events (to "
        "wherever twistd or twist logs), 'auto' picks stdout when that is "
        "where the log goes as text.",
        choice("auto", "stdout", "twisted"),
    ),
    parameter(
        "keep-alive-requests",
        None,
        "With --keep-alive: requests a connection is answered, then it is "
        "closed after the last answer. [default: no limit]",
        positiveInt,
    ),
    parameter(
        "keep-alive-time",
        _DEFAULTS.keepAliveTime,
        "With --keep-alive: seconds a connection is kept however busy; it "
        "is closed after the answer in progress then.",
        positiveSeconds,
    ),
    parameter(
        "drain-timeout",
        _DEFAULTS.drainTimeout,
        "Seconds a stopping server lets open connections finish.",
        positiveSeconds,
    ),
]

FLAGS: list[list[Any]] = [
    ["quiet", "q", "Do not log requests."],
    [
        "rules-outside-folder",
        None,
        "Let the rules file's response_file and greeting_file (or symlinks "
        "to them) lead outside the rules file's folder.",
    ],
    [
        "keep-alive",
        "k",
        "Keep connections open: answer every delimited request on them.",
    ],
    [
        "stock-transport",
        None,
        "Use Twisted's own TCP port, transport and dispatch, which read, send "
        "and close each on a reactor iteration of its own, instead of at once.",
    ],
]
