"""
twistd support: the command-line options of C{twistd responder} and the
service they make.  The plugin in C{twisted/plugins/responder_plugin.py}
names this module, so it is only imported when responder is used.
"""

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from twisted.python import usage

from ._config import (
    DEFAULT_PORT,
    DEFAULT_RESPONSE,
    ResponderConfig,
    parseDelimiter,
    parseEndpoint,
    parseNetwork,
    positiveInt,
    positiveSeconds,
)
from ._rules import loadRules
from ._runner import resolveRequestLog, useJSONLog
from ._service import ResponderService
from ._service import makeService as _makeService

_DEFAULTS = ResponderConfig()
_T = TypeVar("_T")


def _checked(name: str, parse: Callable[[str], _T], text: str) -> _T:
    """
    C{parse(text)}, with an error that names the option C{--name}.
    """
    try:
        return parse(text)
    except ValueError as e:
        raise ValueError(f"--{name}: {e}") from None


def _parameter(
    name: str, default: object, doc: str, parse: Callable[[str], object]
) -> list[Any]:
    """
    An C{optParameters} row whose value is checked by C{parse}, with errors
    that name the option as well as the value.
    """

    def coerce(text: str) -> object:
        return _checked(name, parse, text)

    coerce.coerceDoc = parse.coerceDoc  # type: ignore[attr-defined]
    return [name, None, default, doc, coerce]


def _choice(*choices: str) -> Callable[[str], str]:
    """
    A checker for an option that takes one of C{choices}.
    """

    def check(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text

    check.coerceDoc = f"One of {', '.join(choices)}."  # type: ignore[attr-defined]
    return check


def _utf8(text: str) -> bytes:
    """
    Encode C{text}, which came from the command line or the environment.

    @raise ValueError: if it held bytes that are not UTF-8 (Python keeps
        them as lone surrogates).
    """
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise ValueError(f"{text!r} is not valid UTF-8") from None


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
        _parameter(
            "max-request",
            _DEFAULTS.maxRequest,
            "Bytes of a request that are kept; the rest is discarded.",
            positiveInt,
        ),
        _parameter(
            "timeout",
            _DEFAULTS.timeout,
            "Seconds a connection gets to complete its request.",
            positiveSeconds,
        ),
        _parameter(
            "max-connections",
            None,
            "Open connections allowed at once; more are refused. [default: no limit]",
            positiveInt,
        ),
        _parameter(
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
        _parameter(
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
        _parameter(
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
        _parameter(
            "log-format",
            "text",
            "text, or json: one JSON object per line, for jq and log shippers "
            "(under twistd, with --nodaemon and no --logfile).",
            _choice("text", "json"),
        ),
        _parameter(
            "request-log",
            "auto",
            "Where request lines go: 'stdout' writes them straight to standard "
            "output (fast), 'twisted' logs them as twisted.logger events (to "
            "wherever twistd or twist logs), 'auto' picks stdout when that is "
            "where the log goes as text.",
            _choice("auto", "stdout", "twisted"),
        ),
        _parameter(
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
        self["allow"].append(_checked("allow", parseNetwork, network))

    def opt_deny(self, network: str) -> None:
        """Refuse this network (CIDR, IPv4 or IPv6); may be repeated."""
        self["deny"].append(_checked("deny", parseNetwork, network))

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
            return _checked(name, lambda text: parseEndpoint(text, backlog), text)

        busy = self["busy-response"]
        runner = getattr(self, "parent", None)
        if self["log-format"] == "json":
            _checked("log-format", lambda _: useJSONLog(runner), "json")
        self.config = ResponderConfig(
            endpoints=tuple(
                endpoint(name, text) for name, text in given or [("port", DEFAULT_PORT)]
            ),
            response=_checked("response", _utf8, self["response"]),
            maxRequest=self["max-request"],
            timeout=self["timeout"],
            maxConnections=self["max-connections"],
            maxPerIP=self["max-per-ip"],
            busyResponse=(
                None if busy is None else _checked("busy-response", _utf8, busy)
            ),
            allow=tuple(self["allow"]),
            deny=tuple(self["deny"]),
            backlog=backlog,
            drainTimeout=self["drain-timeout"],
            quiet=bool(self["quiet"]),
            keepAlive=bool(self["keep-alive"]),
            delimiter=_checked("delimiter", parseDelimiter, self["delimiter"]),
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
        )


def makeService(options: Options) -> ResponderService:
    """
    Make the service for C{twistd responder}.
    """
    return _makeService(options.config)
