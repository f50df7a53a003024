"""
C{responder-client}: ask a responder something from the command line, or
check a deployed one with a burst of requests.
"""

import getopt
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from twisted.internet import defer, error, task
from twisted.internet.defer import DeferredSemaphore, ensureDeferred, gatherResults
from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.python import usage

from .._version import __version__
from ..escaping import escapeRequest
from ..options import parseDelimiter, positiveInt, positiveSeconds
from ._admin import admin
from ._ask import ask


class ClientOptions(usage.Options):
    synopsis = "responder-client [options] [ENDPOINT] [REQUEST]"
    longdesc = (
        "Send REQUEST (followed by a NUL byte) to a responder at ENDPOINT and "
        "print the response with unprintable bytes escaped. ENDPOINT is a port "
        "number on this machine or a Twisted client endpoint description: "
        "tcp:HOST:PORT, tcp6:..., unix:PATH, tls:HOST:PORT. The response "
        "ends at its terminator (a NUL, as responder's does), so a keep-alive "
        "server is answered too. With --count, print a summary instead, "
        "and progress on a terminal. Exits 1 if any request fails or times "
        "out. Options may come before or after the arguments. "
        "'responder-client admin --help': drive a control API (--admin)."
    )
    optParameters: list[list[Any]] = [
        ["count", "n", 1, "Requests to send.", positiveInt],
        ["concurrency", "c", 1, "Requests in flight at once.", positiveInt],
        ["timeout", "t", 10.0, "Seconds each request may take.", positiveSeconds],
        [
            "terminator",
            None,
            "nul",
            "What ends a response: nul, newline, one ASCII character, or "
            "'close' to read until the server closes.",
        ],
    ]
    optFlags = [
        ["no-nul", None, "Do not append a NUL byte to the request."],
        ["half-close", None, "Shut down sending after the request."],
    ]

    def opt_version(self) -> None:
        """Print responder's version and exit."""
        print(f"responder-client {__version__}")
        raise SystemExit(0)

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        """
        Parse, with options allowed after the arguments too, as in
        C{responder-client 1984 hi --count 3}: C{usage.Options} stops at the
        first argument, so the options are moved in front of them first.
        """
        argv = sys.argv[1:] if options is None else list(options)
        try:
            found, arguments = getopt.gnu_getopt(argv, self.shortOpt, self.longOpt)
        except getopt.GetoptError as e:
            raise usage.UsageError(str(e)) from None
        reordered: list[str] = []
        for name, value in found:
            takesValue = (
                name[2:] + "=" in self.longOpt
                if name.startswith("--")
                else name[1:] + ":" in self.shortOpt
            )
            reordered += [name, value] if takesValue else [name]
        super().parseOptions([*reordered, "--", *arguments])  # type: ignore[no-untyped-call]

    def postOptions(self) -> None:
        terminator = self["terminator"]
        try:
            self["terminator"] = (
                None if terminator == "close" else parseDelimiter(terminator)
            )
        except ValueError as e:
            raise usage.UsageError(f"--terminator: {e}, nor close") from None

    def parseArgs(self, endpoint: str = "1984", request: str = "") -> None:
        self["endpoint"] = (
            f"tcp:127.0.0.1:{endpoint}" if endpoint.isdigit() else endpoint
        )
        self["request"] = request.encode() + (b"" if self["no-nul"] else b"\0")


def clientEndpoint(reactor: IReactorTime, description: str) -> IStreamClientEndpoint:
    """
    The endpoint C{description} names.  C{tcp6:} is taken as C{tcp:}, whose
    client connects to IPv6 addresses too, so the description a server
    listens on can be used to reach it.

    @raise SystemExit: with a one-line message, if it names none.
    """
    if description.startswith("tcp6:"):
        description = "tcp:" + description.removeprefix("tcp6:")
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


async def run(
    reactor: IReactorTime, options: ClientOptions, stderr: TextIO = sys.stderr
) -> int:
    """
    Send the requests C{options} asks for; print what came back; return
    the exit status.  With C{--count} and C{stderr} a terminal, show how
    many are done, on one line, twice a second.

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
                terminator=options["terminator"],
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

    def progress() -> None:
        done = len(latencies) + len(failures)
        stderr.write(f"\r{done} of {count} done, {len(failures)} failed")
        stderr.flush()

    showing = task.LoopingCall(progress)
    showing.clock = reactor
    if count > 1 and stderr.isatty():
        showing.start(0.5)
    started = time.monotonic()
    await gatherResults([gate.run(lambda: ensureDeferred(one())) for _ in range(count)])
    elapsed = time.monotonic() - started
    if showing.running:
        showing.stop()
        stderr.write("\r\x1b[K")  # clear the progress line
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
        options.parseOptions(arguments)
    except usage.UsageError as e:
        raise SystemExit(f"responder-client: {e}") from None

    async def exitWithStatus(reactor: IReactorTime) -> None:
        status = await run(reactor, options)
        if status:
            raise SystemExit(status)

    task.react(lambda reactor: ensureDeferred(exitWithStatus(reactor)))
