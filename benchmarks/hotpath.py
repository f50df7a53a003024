"""Responder's own Python per request, without sockets or a reactor.

Drives ResponderFactory and its protocols over StringTransport in one
process and prints microseconds of CPU per request, for one-shot connections
and for requests on one keep-alive connection.  Request lines are written
as twistd -n writes them (--request-log stdout), to /dev/null, with a
reactor iteration (Clock.advance(0)) after every ITERATION requests.

Given several checkouts, it runs each in a fresh interpreter, interleaved
over the rounds, so that two versions of the code are compared side by
side on a noisy machine:

    .venv/bin/python benchmarks/hotpath.py . ../before --rounds 5

With --instructions it counts instructions under valgrind's callgrind
instead (the difference between runs of N and 3N requests, divided by 2N):
slow, but the same figure however busy the machine is.

This measures only the part of a request that responder's own code costs;
`run.py` measures whole servers on real sockets.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

#: Requests per reactor iteration.
ITERATION = 8


def measure(checkout: Path, requests: int, keepAlive: bool) -> float:
    """CPU microseconds per request of the responder in checkout."""
    sys.path.insert(0, str(checkout))
    from twisted.internet.address import IPv4Address
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport
    from twisted.logger import ILogObserver, Logger

    from responder import ResponderConfig, ResponderFactory

    clock = Clock()
    factory = ResponderFactory(
        ResponderConfig(keepAlive=keepAlive, requestLog="stdout"),
        clock=clock,
        log=Logger(observer=cast(ILogObserver, lambda event: None)),
    )
    peer = IPv4Address("TCP", "127.0.0.1", 40000)
    started = time.process_time()
    if keepAlive:
        protocol = factory.buildProtocol(peer)
        assert protocol is not None
        transport = StringTransport(peerAddress=peer)
        protocol.makeConnection(transport)
        for n in range(requests):
            protocol.dataReceived(b"hello\0")
            if n % ITERATION == 0:
                clock.advance(0)
                transport.clear()
    else:
        for n in range(requests):
            protocol = factory.buildProtocol(peer)
            assert protocol is not None
            protocol.makeConnection(StringTransport(peerAddress=peer))
            protocol.dataReceived(b"hello\0")
            if n % ITERATION == 0:
                clock.advance(0)
            protocol.connectionLost(None)  # type: ignore[arg-type]
    return (time.process_time() - started) / requests * 1e6


def _run(checkout: Path, mode: str, requests: int, valgrind: bool) -> float:
    """One measurement in a fresh interpreter: CPU us/request, or with
    valgrind the instructions of the whole run."""
    command = [sys.executable, __file__, str(checkout.resolve()), "--one", mode,
               "--requests", str(requests)]  # fmt: skip
    if valgrind:
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        command += [sys.executable, __file__, str(checkout.resolve()), "--one", mode]
        command += ["--requests", str(requests)]
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=900
    )
    if not valgrind:
        return float(out.stdout)
    collected = re.search(r"Collected : (\d+)", out.stderr)
    assert collected is not None, out.stderr[-500:]
    return float(collected[1])


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkouts", nargs="+", type=Path, help="checkouts to compare")
    p.add_argument("--rounds", type=int, default=5, help="rounds [5]")
    p.add_argument("--requests", type=int, default=100_000, help="per run [100000]")
    p.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per request under callgrind (slow, exact)",
    )
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: one measurement
    args = p.parse_args(argv)
    if args.one is not None:
        # Request lines go to stdout: make that /dev/null, keep the result.
        result = os.fdopen(os.dup(1), "w")
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        figure = measure(args.checkouts[0], args.requests, args.one == "keep-alive")
        print(figure, file=result)
        return 0
    for mode in ("one-shot", "keep-alive"):
        if args.instructions:
            n = args.requests
            for checkout in args.checkouts:
                few = _run(checkout, mode, n, True)
                many = _run(checkout, mode, 3 * n, True)
                print(
                    f"{mode:10}  {checkout!s:30}"
                    f"  {(many - few) / (2 * n):,.0f} instructions/request"
                )
            continue
        figures: dict[Path, list[float]] = {c: [] for c in args.checkouts}
        for _ in range(args.rounds):
            for checkout in args.checkouts:
                figures[checkout].append(_run(checkout, mode, args.requests, False))
        first = statistics.median(figures[args.checkouts[0]])
        for checkout, values in figures.items():
            median = statistics.median(values)
            rounds = ", ".join(f"{v:.2f}" for v in values)
            print(
                f"{mode:10}  {checkout!s:30}  median {median:.2f} us/request"
                f"  ({median / first:.2f}x the first)  rounds: {rounds}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
