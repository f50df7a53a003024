"""
The options of C{twistd responder}: command-line text in, one checked
L{ResponderConfig} out (as C{options.config}).  Turning that into services
is the assembly's job; L{responder.tap} joins the two for twistd.
"""

import os
from collections.abc import Sequence
from typing import Any

from twisted.python import usage

from ..config import DEFAULT_PORT, DEFAULT_RESPONSE, ResponderConfig
from ..rules import loadRules
from ._admin import adminToken, checkAdmin
from ._endpoints import parseEndpoint
from ._parsers import (
    checked,
    choice,
    countOrZero,
    parameter,
    parseDelimiter,
    parseNetwork,
    positiveInt,
    positiveSeconds,
    utf8,
)
from ._runner import resolveRequestLog, useJSONLog

_DEFAULTS = ResponderConfig()


def _checkRules(path: str) -> str:
    """
    Load the rules file once to check it; return its absolute path, so a
    reload finds it whatever the working directory is by then.

    @raise ValueError: naming the file, line and reason.
    """
    absolute = os.path.abspath(path)
    loadRules(absolute)
    return absolute


class Options(usage.Options):
    """
    Options for C{twistd responder}.  They follow C{twistd web}: C{--port}
    sets one endpoint, C{--listen} adds one and may be repeated.
    """

    synopsis = "[options]"
    longdesc = (
        "A TCP responder: each client's first request is logged and answered "
        "with a fixed, NUL-terminated response, then the connection is closed."
    )

    optParameters: list[list[Any]] = [
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
            "Processes serving the same listening sockets.",
            positiveInt,
        ),
        [
            "rules",
            None,
            None,
            "TOML file of rules choosing answers and faults by request (see "
            "the README); SIGHUP reloads it. [default: none]",
        ],
        [
            "metrics",
            None,
            None,
            "Endpoint to serve Prometheus metrics on at /metrics, such as "
            "tcp:9100:interface=127.0.0.1. [default: none]",
        ],
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
            ResponderConfig.journal,
            "Requests kept in memory for the control API.",
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
            "drain-timeout",
            _DEFAULTS.drainTimeout,
            "Seconds a stopping server lets open connections finish.",
            positiveSeconds,
        ),
    ]

    optFlags = [
        ["quiet", "q", "Do not log requests."],
        [
            "keep-alive",
            "k",
            "Keep connections open: answer every delimited request on them.",
        ],
    ]

    compData = usage.Completions(
        optActions={
            "request-log": usage.CompleteList(["auto", "stdout", "twisted"]),
            "log-format": usage.CompleteList(["text", "json"]),
        }
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["listen"] = []
        self["allow"] = []
        self["deny"] = []

    def opt_listen(self, endpoint: str) -> None:
        """Also listen on this port or endpoint; may be repeated."""
        self["listen"].append(endpoint)

    def opt_allow(self, network: str) -> None:
        """Serve only this network (CIDR); may be repeated. [default: all]"""
        self["allow"].append(checked("allow", parseNetwork, network))

    def opt_deny(self, network: str) -> None:
        """Refuse this network (CIDR, IPv4 or IPv6); may be repeated."""
        self["deny"].append(checked("deny", parseNetwork, network))

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        """
        Parse, and turn any usage error into a one-line message and a
        non-zero exit.

        twistd answers a L{usage.UsageError} by printing its whole --help
        before the message, which buries the one line that matters; this
        prints only that line, naming the bad value.
        """
        try:
            super().parseOptions(options)  # type: ignore[no-untyped-call]
        except (usage.UsageError, ValueError) as e:
            message = str(e).removeprefix("Parameter type enforcement failed: ")
            raise SystemExit(f"responder: {message}") from None

    def postOptions(self) -> None:
        """
        Check the endpoints and build L{config}.
        """
        backlog = self["backlog"]
        given = [("port", self["port"])] if self["port"] is not None else []
        given += [("listen", text) for text in self["listen"]]

        def endpoint(name: str, text: str) -> str:
            return checked(name, lambda text: parseEndpoint(text, backlog), text)

        busy = self["busy-response"]
        runner = getattr(self, "parent", None)
        if self["log-format"] == "json":
            checked("log-format", lambda _: useJSONLog(runner), "json")
        admin = self["admin"]
        token = adminToken(self["admin-token"], self["admin-token-file"])
        if admin is not None:
            admin = endpoint("admin", admin)
            checked("admin", lambda text: checkAdmin(text, token), admin)
        self.config = ResponderConfig(
            endpoints=tuple(
                endpoint(name, text) for name, text in given or [("port", DEFAULT_PORT)]
            ),
            response=checked("response", utf8, self["response"]),
            maxRequest=self["max-request"],
            timeout=self["timeout"],
            maxConnections=self["max-connections"],
            maxPerIP=self["max-per-ip"],
            busyResponse=(
                None if busy is None else checked("busy-response", utf8, busy)
            ),
            allow=tuple(self["allow"]),
            deny=tuple(self["deny"]),
            backlog=backlog,
            drainTimeout=self["drain-timeout"],
            quiet=bool(self["quiet"]),
            keepAlive=bool(self["keep-alive"]),
            delimiter=checked("delimiter", parseDelimiter, self["delimiter"]),
            workers=self["workers"],
            logFormat=self["log-format"],
            rules=None if self["rules"] is None else _checkRules(self["rules"]),
            metrics=(
                None
                if self["metrics"] is None
                else endpoint("metrics", self["metrics"])
            ),
            requestLog=resolveRequestLog(
                self["request-log"], self["log-format"], runner
            ),
            journal=self["journal"],
            admin=admin,
            adminToken=token,
        )
