"""
C{responder-client}: ask a responder something from the command line, or
check a deployed one with a burst of requests.
"""

import sys
import time
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from twisted.internet import defer, error, task
from twisted.internet.defer import DeferredSemaphore, ensureDeferred, gatherResults
from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.python import usage

from ..escaping import escapeRequest
from ..options import positiveInt, positiveSeconds
from ._admin import admin
from ._ask import ask


class ClientOptions(usage.Options):
    synopsis = "responder-client [options] [ENDPOINT] [REQUEST]"
    longdesc = (
        "Send REQUEST (followed by a NUL byte) to a responder at ENDPOINT and "
        "print the response with unprintable bytes escaped. ENDPOINT is a port "
        "number on this machine or a Twisted client endpoint description: "
        "tcp:HOST:PORT, tcp6:..., unix:PATH, tls:HOST:PORT. With --count, "
        "print a summary instead. Exits 1 if any request fails or times out. "
        "'responder-client admin --help': drive a control API (--admin)."
    )
    optParameters: list[list[Any]] = [
        ["count", "n", 1, "Requests to send.", positiveInt],
        ["concurrency", "c", 1, "Requests in flight at once.", positiveInt],
        ["timeout", "t", 10.0, "Seconds each request may take.", positiveSeconds],
    ]
    optFlags = [
        ["no-nul", None, "Do not append a NUL byte to the request."],
        ["half-close", None, "Shut down sending after the request."],
    ]

    def opt_version(self) -> None:
        """Print responder's version and exit."""
        print(f"responder-client {version('responder')}")
        raise SystemExit(0)

    def parseArgs(self, endpoint: str = "1984", request: str = "") -> None:
        self["endpoint"] = (
            f"tcp:127.0.0.1:{endpoint}" if endpoint.isdigit() else endpoint
        )
        self["request"] = request.encode() + (b"" if self["no-nul"] else b"\0")


def clientEndpoint(reactor: IReactorTime, description: str) -> IStreamClientEndpoint:
    """
    The endpoint C{description} names.

    @raise SystemExit: with a one-line message, if it names none.
    """
    try:
        client: IStreamClientEndpoint = clientFromString(reactor, description)
    except Exception as e:
        # Whatever the endpoint's parser raises (ValueError, TypeError for a
        # missing argument, a TLS option's own errors) is a bad description.
        reason = str(e) or type(e).__name__
        raise SystemExit(
            f"responder-client: bad endpoint {description!r}: {reason}"
        ) from None
    return client


async def run(reactor: IReactorTime, options: ClientOptions) -> int:
    """
    Send the requests C{options} asks for; print what came back; return
    the exit status.

    @raise SystemExit: if the endpoint description is bad.
    """
    count, endpoint = options["count"], options["endpoint"]
    client = clientEndpoint(reactor, endpoint)
    gate = DeferredSemaphore(options["concurrency"])
    latencies: list[float] = []
    failures: list[str] = []

    async def one() -> None:
        started = time.monotonic()
        try:
            response = await ask(
                reactor,
                client,
                options["request"],
                halfClose=bool(options["half-close"]),
                timeout=options["timeout"],
            )
        except defer.TimeoutError:
            failures.append(f"no answer within {options['timeout']:g} s")
            return
        except (
            error.ConnectError,
            error.ConnectionLost,
            error.DNSLookupError,
            OverflowError,  # a port number beyond 65535
        ) as e:
            failures.append(str(e).rstrip("."))
            return
        latencies.append(time.monotonic() - started)
        if count == 1:
            print(escapeRequest(response))

    started = time.monotonic()
    await gatherResults([gate.run(lambda: ensureDeferred(one())) for _ in range(count)])
    elapsed = time.monotonic() - started
    if count > 1:
        print(_summary(count, latencies, failures, elapsed))
    for failure in sorted(set(failures)):
        print(f"responder-client: {endpoint}: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _summary(
    count: int, latencies: list[float], failures: list[str], elapsed: float
) -> str:
    line = f"{len(latencies)} of {count} answered, {len(failures)} failed"
    line += f" in {elapsed:.2f} s ({count / elapsed:.0f}/s)"
    if latencies:
        ordered = sorted(latencies)
        p50 = ordered[len(ordered) // 2]
        p99 = ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)]
        line += (
            f"; latency ms p50 {p50 * 1000:.1f} p99 {p99 * 1000:.1f}"
            f" max {ordered[-1] * 1000:.1f}"
        )
    return line


def main(argv: Sequence[str] | None = None) -> None:
    """
    The C{responder-client} console script; C{responder-client admin ...}
    drives a control API instead (see L{admin}).
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["admin"]:
        raise SystemExit(admin(arguments[1:]))
    options = ClientOptions()  # type: ignore[no-untyped-call]
    try:
        options.parseOptions(arguments)  # type: ignore[no-untyped-call]
    except usage.UsageError as e:
        raise SystemExit(f"responder-client: {e}") from None

    async def exitWithStatus(reactor: IReactorTime) -> None:
        status = await run(reactor, options)
        if status:
            raise SystemExit(status)

    task.react(lambda reactor: ensureDeferred(exitWithStatus(reactor)))
