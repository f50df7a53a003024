"""
The options of C{twistd responder}: command-line text in, one checked
L{ResponderConfig} out (as C{options.config}).  Turning that into services
is the assembly's job; L{responder.tap} joins the two for twistd.
"""

import os
from collections.abc import Sequence

from twisted.python import usage

from .._version import __version__, distributionVersion
from ..config import DEFAULT_PORT, ResponderConfig, unwrapProxy
from ..rules import loadRules
from ._admin import adminToken, checkAdmin
from ._endpoints import loopback, parseEndpoint
from ._parsers import (
    checked,
    parseDelimiter,
    parseNetwork,
    utf8,
)
from ._runner import (
    dropForegroundPidFile,
    resolveRequestLog,
    useJSONLog,
    useStdoutText,
)
from ._table import FLAGS, PARAMETERS

_DEFAULTS = ResponderConfig()


def _checkRules(path: str, outsideFolder: bool) -> str:
    """
    Load the rules file once to check it; return its absolute path, so a
    reload finds it whatever the working directory is by then.

    @raise ValueError: naming the file, line and reason.
    """
    absolute = os.path.abspath(path)
    loadRules(absolute, outsideFolder)
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

    optParameters = PARAMETERS
    optFlags = FLAGS

    compData = usage.Completions(
        optActions={
            "request-log": usage.CompleteList(["auto", "stdout", "twisted"]),
            "log-format": usage.CompleteList(["text", "json"]),
            "worker-sockets": usage.CompleteList(["reuseport", "shared"]),
        }
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["listen"] = []
        self["allow"] = []
        self["deny"] = []
        self["trusted-proxy"] = []

    def opt_listen(self, endpoint: str) -> None:
        """Also listen on this port or endpoint; may be repeated."""
        self["listen"].append(endpoint)

    def opt_allow(self, network: str) -> None:
        """Serve only this network (CIDR); may be repeated. [default: all]"""
        self["allow"].append(checked("allow", parseNetwork, network))

    def opt_deny(self, network: str) -> None:
        """Refuse this network (CIDR, IPv4 or IPv6); may be repeated."""
        self["deny"].append(checked("deny", parseNetwork, network))

    def opt_version(self) -> None:
        """Print responder's version and Twisted's, and exit."""
        print(f"responder {__version__} (Twisted {distributionVersion('twisted')})")
        raise SystemExit(0)

    def opt_trusted_proxy(self, network: str) -> None:
        """Trust PROXY headers only from this network (CIDR); may be repeated."""
        self["trusted-proxy"].append(checked("trusted-proxy", parseNetwork, network))

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        """
        Parse, and turn any usage error into a one-line message and a
        non-zero exit.

        twistd answers a C{usage.UsageError} by printing its whole --help
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
        else:
            useStdoutText(runner)
        dropForegroundPidFile(runner)
        endpoints = tuple(
            endpoint(name, text) for name, text in given or [("port", DEFAULT_PORT)]
        )
        if self["trusted-proxy"] and not any(unwrapProxy(e)[0] for e in endpoints):
            raise ValueError(
                "--trusted-proxy: no haproxy: endpoint, so no PROXY header to trust"
            )
        metrics = self["metrics"]
        admin = self["admin"]
        token = adminToken(self["admin-token"], self["admin-token-file"])
        if admin is not None:
            admin = endpoint("admin", admin)
            checked("admin", lambda text: checkAdmin(text, token), admin)
        self.config = ResponderConfig(
            endpoints=endpoints,
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
            stockTransport=bool(self["stock-transport"]),
            keepAliveRequests=self["keep-alive-requests"],
            keepAliveTime=self["keep-alive-time"],
            delimiter=checked("delimiter", parseDelimiter, self["delimiter"]),
            workers=self["workers"],
            workerTimeout=self["worker-timeout"],
            workerSockets=self["worker-sockets"],
            logFormat=self["log-format"],
            rules=(
                None
                if self["rules"] is None
                else _checkRules(self["rules"], bool(self["rules-outside-folder"]))
            ),
            rulesOutsideFolder=bool(self["rules-outside-folder"]),
            trustedProxies=tuple(self["trusted-proxy"]),
            metrics=(
                None if metrics is None else endpoint("metrics", loopback(metrics))
            ),
            agent=None if self["agent"] is None else endpoint("agent", self["agent"]),
            agentDrain=self["agent-drain"],
            requestLog=resolveRequestLog(
                self["request-log"], self["log-format"], runner
            ),
            journal=self["journal"],
            admin=admin,
            adminToken=token,
        )
