"""Benchmark driver: responder against the seed, a C epoll server and plain Twisted.

Builds the C programs, then for each round, scenario and server: starts the
server on a fresh port, waits until it accepts, warms it up, and runs the load
generator against it while measuring the server's CPU time from /proc. Prints
a table of medians over the rounds and writes RESULTS.md.

Standard library only; run it with the project's venv python (``make bench``).
"""

import argparse
import dataclasses
import json
import os
import platform
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
BUILD_DIR = BENCH_DIR / "build"
SCRATCH_DIR = BENCH_DIR / "scratch"  # server output and raw results, git-ignored
RESULTS_MD = BENCH_DIR / "RESULTS.md"
HAND_WRITTEN_MARKER = "<!-- hand-written below -->"
REFERENCE = "c-epoll"  # CPU/request ratios are taken against this server
# The server whose workers' shares are counted, from its request lines, which
# name the worker that served: "... [responder.w2#info] 127.0.0.1:43752 abc".
SHARES_SERVER = "responder-w2"
SHARE_REQUESTS = 10_000
WORKER_LINE = re.compile(rb"\[responder\.w(\d+)#info\] 127\.0\.0\.1:\d+ \S")
WORKER_NAMESPACE = re.compile(rb"\[responder\.w(\d+)#")  # any line of a worker's
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Bounds on every wait, in seconds.
BUILD_TIMEOUT = 120.0
START_TIMEOUT = 15.0  # twistd imports take about a second on this machine
STOP_TIMEOUT = 5.0
REQUEST_TIMEOUT = 5.0  # loadgen's per-request timeout, counted as an error


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    mode: str  # "crr": a connection per request; "rr": persistent connections
    concurrency: int


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("crr-50", "crr", 50),
        # Targets for responder: no errors and no latency above 1 s.
        Scenario("crr-1000", "crr", 1000),
        Scenario("rr-50", "rr", 50),
    )
}

# A server's command line, from its port, the scenario's mode and the venv's bin/.
Command = Callable[[int, str, Path], list[str]]
# With --baseline, these servers also run from the baseline's venv, as NAME@base.
BASELINE_SERVERS = ("responder", "responder-ka")
BASE_SUFFIX = "@base"


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    name: str
    command: Command
    scenarios: tuple[str, ...]  # names in SCENARIOS this server takes part in
    # For a server of several processes: the same server in one process, whose
    # CPU per request it is compared with in each round (the workers table).
    single: str | None = None
    # A server run from another venv than --venv (--baseline): that venv, and
    # the server it is the baseline of, compared round by round (the baseline
    # table).
    venv: Path | None = None
    base_of: str | None = None

    def venv_bin(self, default_venv: Path) -> Path:
        return (self.venv or default_venv) / "bin"


def _responder(*extra: str) -> Command:
    def command(port: int, mode: str, venv_bin: Path) -> list[str]:
        return [
            str(venv_bin / "twistd"),
            "-n",
            "--pidfile=",
            "responder",
            "--port",
            f"tcp:{port}:interface=127.0.0.1",
            *extra,
        ]

    return command


# The servers, in table order. Adding one is adding a row.
SERVERS = {
    s.name: s
    for s in (
        ServerSpec(
            "seed",
            lambda port, mode, venv_bin: [str(BUILD_DIR / "seed_server"), str(port)],
            ("crr-50",),  # listen backlog 5: 1000 clients only measure SYN drops
        ),
        ServerSpec(
            "c-epoll",
            lambda port, mode, venv_bin: [
                str(BUILD_DIR / "epoll_server"),
                *(["-k"] if mode == "rr" else []),
                str(port),
            ],
            ("crr-50", "crr-1000", "rr-50"),
        ),
        ServerSpec(
            "c-epoll-w2",
            lambda port, mode, venv_bin: [
                str(BUILD_DIR / "epoll_server"),
                "-w",
                "2",
                str(port),
            ],
            ("crr-50", "crr-1000"),
            single="c-epoll",
        ),
        ServerSpec(
            "plain-twisted",
            lambda port, mode, venv_bin: [
                str(venv_bin / "python"),
                str(BENCH_DIR / "plain_twisted.py"),
                str(port),
            ],
            ("crr-50", "crr-1000"),
        ),
        ServerSpec("responder", _responder(), ("crr-50", "crr-1000")),
        ServerSpec("responder-ka", _responder("--keep-alive"), ("rr-50",)),
        # Twisted's own transport (--stock-transport): what sending and
        # closing at once buys, in the same rounds.
        ServerSpec(
            "responder-stock", _responder("--stock-transport"), ("crr-50", "crr-1000")
        ),
        ServerSpec(
            "responder-ka-stock",
            _responder("--keep-alive", "--stock-transport"),
            ("rr-50",),
        ),
        ServerSpec(
            "responder-w2",
            _responder("--workers", "2"),
            ("crr-50", "crr-1000"),
            single="responder",
        ),
        # One listening socket that both workers accept from, against a
        # socket of its own for each (SO_REUSEPORT, the default), in the
        # same rounds.
        ServerSpec(
            "responder-w2-shared",
            _responder("--workers", "2", "--worker-sockets", "shared"),
            ("crr-50", "crr-1000"),
            single="responder",
        ),
    )
}


class BenchError(Exception):
    """A server failed to start or the load generator failed: the run is void."""


@dataclasses.dataclass
class RunResult:
    round: int
    scenario: str
    server: str
    loadgen: dict[str, Any]  # loadgen's JSON line
    server_cpu_s: float
    machine_cpu_s: float  # busy CPU time of the whole machine during the run

    @property
    def other_cores(self) -> float:
        """Cores busy with neither the server nor loadgen: other work on the box."""
        own = self.server_cpu_s + float(self.loadgen["cpu_s"])
        return max(0.0, self.machine_cpu_s - own) / float(self.loadgen["elapsed"])

    @property
    def ok(self) -> int:
        return int(self.loadgen["ok"])

    @property
    def errors(self) -> int:
        return sum(int(n) for n in self.loadgen["errors"].values())

    @property
    def cpu_us(self) -> float | None:
        """Server CPU per successful request, in microseconds."""
        return self.server_cpu_s / self.ok * 1e6 if self.ok else None

    @property
    def client_cpu_us(self) -> float | None:
        return float(self.loadgen["cpu_s"]) / self.ok * 1e6 if self.ok else None


# --- processes and CPU time ------------------------------------------------


def _proc_stats() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, CPU ticks: utime + stime + cutime + cstime) for every process."""
    stats = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                raw = f.read()
        except OSError:  # exited while we looked
            continue
        # Fields after the command name, which may itself hold spaces or ")".
        fields = raw[raw.rindex(b")") + 2 :].split()
        ppid = int(fields[1])
        ticks = sum(int(x) for x in fields[11:15])
        stats[int(entry.name)] = (ppid, ticks)
    return stats


def tree_cpu_seconds(root: int) -> float:
    """CPU time used by a process and all its descendants, reaped or alive.

    The root's cutime/cstime hold its reaped children (the seed's forked
    clients, which exit after one request); live descendants (children in
    flight, worker processes) are added from their own entries.
    """
    stats = _proc_stats()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
        todo.extend(children.get(pid, ()))
    return total / CLK_TCK


def machine_busy_seconds() -> float:
    """Busy CPU time of all CPUs since boot: /proc/stat's first line less idle
    and iowait (guest time is already inside user)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def free_port(used: set[int]) -> int:
    """A port free for a listener on every address, below the ephemeral range.

    Below it, the load generator's client ports never collide with the server's
    port; bound without SO_REUSEADDR, as the seed binds, so a port still
    holding TIME_WAIT sockets from an earlier run is refused here too.
    """
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        ephemeral_low = int(f.read().split()[0])
    for _ in range(200):
        port = random.randrange(10000, ephemeral_low)
        if port in used:
            continue
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        used.add(port)
        return port
    raise BenchError("no free port found in 200 tries")


@contextmanager
def running_server(
    spec: ServerSpec, scenario: Scenario, port: int, venv_bin: Path
) -> Iterator[int]:
    """Start a server, wait until it accepts, yield its pid; always stop it.

    The server leads a session of its own so that stopping signals its whole
    process group: the seed's forked children and any worker processes too.
    """
    argv = spec.command(port, scenario.mode, venv_bin)
    # Python servers buffer stdout as they would when run by hand: an inherited
    # PYTHONUNBUFFERED (set in some CI and sandbox environments) costs plain
    # Twisted a write() per request, about 10 us, and would skew the comparison.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    out_path = SCRATCH_DIR / f"{spec.name}.out"
    err_path = SCRATCH_DIR / f"{spec.name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=SCRATCH_DIR,
                env=env,
                start_new_session=True,
            )
        except OSError as e:
            raise BenchError(
                f"{spec.name}: cannot start {shlex.join(argv)}: {e}"
            ) from e
    try:
        _wait_accepting(proc, port, spec.name, err_path)
        yield proc.pid
    finally:
        _stop(proc)


def _wait_accepting(
    proc: subprocess.Popen[bytes], port: int, name: str, err_path: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = err_path.read_text(errors="replace")[-2000:]
            raise BenchError(f"{name} exited with {proc.returncode}:\n{tail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"{name} did not accept on port {port} in {START_TIMEOUT} s")


def _killpg(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:  # the whole group is gone
        pass


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group; then SIGKILL whatever is left of it:
    a server that did not stop in time, or the seed's in-flight children."""
    _killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    _killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=STOP_TIMEOUT)


# --- load ------------------------------------------------------------------


def loadgen(
    port: int, scenario: Scenario, duration: float, requests: int = 0
) -> dict[str, Any]:
    """Run the load generator for duration seconds, or until it has started
    requests requests if that is not 0; return its JSON line."""
    argv = [
        str(BUILD_DIR / "loadgen"),
        "-p",
        str(port),
        "-m",
        scenario.mode,
        "-c",
        str(scenario.concurrency),
        "-d",
        str(duration),
        "-t",
        str(REQUEST_TIMEOUT),
        "-n",
        str(requests),
    ]
    # loadgen stops by itself within duration + REQUEST_TIMEOUT.
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + REQUEST_TIMEOUT + 30
    )
    if proc.returncode != 0:
        raise BenchError(f"loadgen failed ({proc.returncode}): {proc.stderr.strip()}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def run_once(
    spec: ServerSpec,
    scenario: Scenario,
    rnd: int,
    args: argparse.Namespace,
    used_ports: set[int],
) -> RunResult:
    port = free_port(used_ports)
    with running_server(spec, scenario, port, spec.venv_bin(args.venv)) as pid:
        loadgen(port, scenario, args.warmup)
        cpu_before, busy_before = tree_cpu_seconds(pid), machine_busy_seconds()
        result = loadgen(port, scenario, args.duration)
        cpu_after, busy_after = tree_cpu_seconds(pid), machine_busy_seconds()
    return RunResult(
        rnd,
        scenario.name,
        spec.name,
        result,
        cpu_after - cpu_before,
        busy_after - busy_before,
    )


def worker_shares(
    spec: ServerSpec, args: argparse.Namespace, used_ports: set[int]
) -> list[dict[int, int]]:
    """Send SHARE_REQUESTS requests from 50 clients to a fresh server, once
    per share run, and count each worker's request lines in its output.

    The lines are counted once the server has stopped, when every worker has
    written its last ones; they must add up to the requests answered.
    """
    scenario = SCENARIOS["crr-50"]
    shares = []
    for _ in range(args.share_runs):
        port = free_port(used_ports)
        with running_server(spec, scenario, port, spec.venv_bin(args.venv)):
            result = loadgen(port, scenario, 60.0, requests=SHARE_REQUESTS)
        output = (SCRATCH_DIR / f"{spec.name}.out").read_bytes()
        # Every worker, including one that served nothing.
        counts = Counter({int(n): 0 for n in WORKER_NAMESPACE.findall(output)})
        counts.update(int(n) for n in WORKER_LINE.findall(output))
        if sum(counts.values()) != result["ok"]:
            raise BenchError(
                f"{spec.name}: {sum(counts.values())} request lines for"
                f" {result['ok']} requests answered"
            )
        shares.append(dict(sorted(counts.items())))
    return shares


def plan(
    servers: Sequence[ServerSpec], scenarios: Sequence[Scenario], rnd: int
) -> list[tuple[Scenario, ServerSpec]]:
    """One round: scenario by scenario, every server in turn (A, B, C, ...).

    The server order rotates from round to round, so no server always runs
    right after the same neighbour, whose TIME_WAIT sockets and output still
    being written back to disk it inherits.

    Each run gets a fresh server process: runs are independent samples, no
    state (heap growth, a 1000-client backlog, a seed's stray children) leaks
    from one scenario into the next, and start-up and warm-up stay outside the
    measured window. The restart costs about a second per run.

    A baseline server (--baseline) runs right next to its current one, which
    it is compared with: after it in even rounds and before it in odd ones,
    the two rotating as one.
    """
    bases = {s.base_of: s for s in servers if s.base_of is not None}
    ring = [s for s in servers if s.base_of is None]
    order = ring[rnd % len(ring) :] + ring[: rnd % len(ring)]
    if bases:
        paired = []
        for spec in order:
            base = bases.get(spec.name)
            if base is None:
                paired.append(spec)
            else:
                paired += [base, spec] if rnd % 2 else [spec, base]
        order = paired
    return [
        (scenario, spec)
        for scenario in scenarios
        for spec in order
        if scenario.name in spec.scenarios
    ]


# --- report ----------------------------------------------------------------


@dataclasses.dataclass
class Row:
    scenario: str
    server: str
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None  # worst over the rounds
    errors: dict[str, int]  # summed over the rounds
    cpu_us: float | None
    client_cpu_us: float | None
    ratio: float | None  # median over rounds of cpu_us / reference's cpu_us
    other_cores: float  # worst over the rounds


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(
    results: Sequence[RunResult],
    servers: Sequence[ServerSpec],
    scenarios: Sequence[Scenario],
) -> list[Row]:
    reference = {
        (r.round, r.scenario): r.cpu_us for r in results if r.server == REFERENCE
    }
    rows = []
    for scenario in (s.name for s in scenarios):
        for spec in servers:
            runs = [
                r for r in results if r.scenario == scenario and r.server == spec.name
            ]
            if not runs:
                continue
            errors: dict[str, int] = {}
            for r in runs:
                for kind, n in r.loadgen["errors"].items():
                    errors[kind] = errors.get(kind, 0) + int(n)
            ratios = []
            for r in runs:
                ref = reference.get((r.round, r.scenario))
                ratios.append(r.cpu_us / ref if r.cpu_us and ref else None)
            maxima = [
                r.loadgen["max_ms"] for r in runs if r.loadgen["max_ms"] is not None
            ]
            rows.append(
                Row(
                    scenario=scenario,
                    server=spec.name,
                    rps=statistics.median(float(r.loadgen["rps"]) for r in runs),
                    p50_ms=_median([r.loadgen["p50_ms"] for r in runs]),
                    p99_ms=_median([r.loadgen["p99_ms"] for r in runs]),
                    max_ms=max(maxima) if maxima else None,
                    errors=errors,
                    cpu_us=_median([r.cpu_us for r in runs]),
                    client_cpu_us=_median([r.client_cpu_us for r in runs]),
                    ratio=_median(ratios),
                    other_cores=max(r.other_cores for r in runs),
                )
            )
    return rows


@dataclasses.dataclass
class PairRow:
    """A server against a reference in the same rounds: a pool against itself
    in one process, or the current code against the baseline's."""

    scenario: str
    server: str
    reference: str
    cpu_us: float | None  # medians over the rounds
    reference_cpu_us: float | None
    ratios: list[float | None]  # by round: cpu_us over the reference's

    @property
    def ratio(self) -> float | None:
        return _median(self.ratios)

    @property
    def known(self) -> list[float]:
        return [r for r in self.ratios if r is not None]


Pairs = list[tuple[float | None, float | None]]
# (scenario, server, reference, pairs): see _comparisons.
Comparison = tuple[str, str, str, Pairs]


def _comparisons(
    results: Sequence[RunResult],
    servers: Sequence[ServerSpec],
    scenarios: Sequence[Scenario],
    compared: Callable[[ServerSpec], tuple[str, str] | None],
) -> Iterator[Comparison]:
    """For each scenario and each server that compared() pairs with a
    reference, as (server, reference): the scenario, both names, and their
    CPU us/request round by round, in the rounds that ran the server."""
    for scenario in (s.name for s in scenarios):
        cpu = {(r.round, r.server): r.cpu_us for r in results if r.scenario == scenario}
        for spec in servers:
            names = compared(spec)
            if names is None:
                continue
            server, reference = names
            rounds = sorted({rnd for rnd, name in cpu if name == server})
            pairs = [(cpu[(rnd, server)], cpu.get((rnd, reference))) for rnd in rounds]
            yield scenario, server, reference, pairs


def pair_rows(comparisons: Iterator[Comparison]) -> list[PairRow]:
    """The comparisons in which both sides ran at least once."""
    rows = []
    for scenario, server, reference, pairs in comparisons:
        ratios = [cpu / ref if cpu and ref else None for cpu, ref in pairs]
        if any(r is not None for r in ratios):
            rows.append(
                PairRow(
                    scenario=scenario,
                    server=server,
                    reference=reference,
                    cpu_us=_median([cpu for cpu, _ in pairs]),
                    reference_cpu_us=_median([ref for _, ref in pairs]),
                    ratios=ratios,
                )
            )
    return rows


def _percent(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.0f} %"


def workers_text(rows: Sequence[PairRow], shares: Sequence[dict[int, int]]) -> str:
    """Markdown (which reads as text too): the workers table and the shares."""
    lines = [
        "| scenario | server | one process us/req | us/req | growth, median"
        " | growth by round |",
        "|---|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.scenario} | {r.server} | {_fmt(r.reference_cpu_us, '.1f')}"
        f" ({r.reference}) | {_fmt(r.cpu_us, '.1f')}"
        f" | {_percent(statistics.median(r.known))}"
        f" | {', '.join(_percent(g) for g in r.known)} |"
        for r in rows
    ]
    if shares:
        smallest = [min(c.values()) / sum(c.values()) for c in shares]
        runs = "; ".join(
            " + ".join(f"w{worker} {n:,}" for worker, n in c.items()) for c in shares
        )
        lines += [
            "",
            f"{SHARES_SERVER}, {SHARE_REQUESTS:,} requests from 50 clients, in"
            f" each of {len(shares)} runs on a fresh server: the smaller worker's"
            f" share was {min(smallest) * 100:.1f} % at least and"
            f" {statistics.median(smallest) * 100:.1f} % in the median ({runs}).",
        ]
    return "\n".join(lines)


def baseline_text(rows: Sequence[PairRow], label: str, about: str) -> str:
    """Markdown (which reads as text too): current against baseline."""
    lines = [
        about,
        "",
        "| scenario | server | current us/req | base us/req"
        " | current/base, median | current/base by round |",
        "|---|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.scenario} | {r.server} | {_fmt(r.cpu_us, '.1f')}"
        f" | {_fmt(r.reference_cpu_us, '.1f')} ({label})"
        f" | {_fmt(r.ratio, '.3f')}"
        f" | {', '.join(_fmt(x, '.3f') for x in r.ratios)} |"
        for r in rows
    ]
    return "\n".join(lines)


COLUMNS = (
    "scenario",
    "server",
    "rps",
    "p50 ms",
    "p99 ms",
    "max ms",
    "errors",
    "CPU us/req",
    f"x {REFERENCE}",
    "loadgen us/req",
    "other cores",
)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _cells(row: Row) -> list[str]:
    total = sum(row.errors.values())
    errors = str(total)
    if total:
        errors += " (" + ", ".join(f"{k} {n}" for k, n in row.errors.items() if n) + ")"
    return [
        row.scenario,
        row.server,
        _fmt(row.rps, ",.0f"),
        _fmt(row.p50_ms, ".2f"),
        _fmt(row.p99_ms, ".2f"),
        _fmt(row.max_ms, ".1f"),
        errors,
        _fmt(row.cpu_us, ".1f"),
        _fmt(row.ratio, ".2f"),
        _fmt(row.client_cpu_us, ".1f"),
        _fmt(row.other_cores, ".2f"),
    ]


def text_table(rows: Sequence[Row]) -> str:
    table = [list(COLUMNS)] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    )


def markdown_table(rows: Sequence[Row]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * (len(COLUMNS) - 2)) + "|",
    ]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def _output_of(argv: Sequence[str], cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"
    return proc.stdout.strip() or f"unknown ({proc.stderr.strip()[-200:]})"


def machine_info(venv_bin: Path) -> dict[str, str]:
    cpu_model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    venv_python = str(venv_bin / "python")
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "CPU model": cpu_model,
        "kernel": platform.release(),
        "Python (servers)": _output_of(
            [venv_python, "-c", "import platform; print(platform.python_version())"]
        ),
        "Twisted": _output_of(
            [venv_python, "-c", "import twisted; print(twisted.__version__)"]
        ),
        "commit": _output_of(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"]
        ),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def describe_checkout(venv_bin: Path) -> str:
    """Which checkout a venv's python imports responder from, and its commit:
    "b16ec98 (/tmp/base)". Run in the servers' directory, as they run."""
    checkout = _output_of(
        [
            str(venv_bin / "python"),
            "-c",
            "import pathlib, responder;"
            " print(pathlib.Path(responder.__file__).resolve().parent.parent)",
        ],
        cwd=SCRATCH_DIR,
    )
    if checkout.startswith("unknown"):
        return checkout
    commit = _output_of(["git", "-C", checkout, "describe", "--always", "--dirty"])
    return f"{commit} ({checkout})"


def write_markdown(
    path: Path,
    rows: Sequence[Row],
    workers: str,
    info: dict[str, str],
    args: argparse.Namespace,
    baseline: str = "",
) -> None:
    """Write the generated part of RESULTS.md, keeping the hand-written part."""
    hand_written = (
        "\n## Profile\n\n(Filled in by hand; kept when this file is regenerated.)\n"
    )
    if path.exists():
        old = path.read_text()
        if HAND_WRITTEN_MARKER in old:
            hand_written = old.split(HAND_WRITTEN_MARKER, 1)[1]
    python = Path(sys.executable)
    if python.is_relative_to(REPO_ROOT):
        python = python.relative_to(REPO_ROOT)
    command = shlex.join([str(python), "benchmarks/run.py", *sys.argv[1:]])
    machine = "\n".join(f"- {k}: {v}" for k, v in info.items())
    text = f"""# Benchmark results

Generated by `benchmarks/run.py`; see `benchmarks/README.md` for the method.

Command: `{command}`

Rounds: {args.rounds}, {args.duration:g} s per run after a {args.warmup:g} s
warm-up; runs interleaved across servers, a fresh server process per run.

Machine:
{machine}

The load generator and the server share these CPUs (nothing is pinned), so
throughput is bounded by the two together; **server CPU per request** is the
figure that compares servers fairly.

Medians over the rounds, except *max ms* (worst round) and *errors* (all rounds
summed). *x {REFERENCE}*: the server's CPU per request divided by {REFERENCE}'s in
the same round and scenario, median over the rounds. *loadgen us/req*: the load
generator's own CPU per request. *other cores*: CPU used by anything else on the
machine during the run, in cores, worst round; above about 0.1 the machine was
not quiet and the row deserves a rerun.

{markdown_table(rows)}

### Workers: several processes against one

*growth*: a server's CPU per request over the same server's in one process,
in the same round and scenario. `c-epoll-w2` is the C epoll server forked
into two processes after `listen()`, on one shared socket: what a second
process costs on this machine apart from anything Python or Twisted adds.
`responder-w2` gives each worker a listening socket of its own
(`SO_REUSEPORT`, the default); `responder-w2-shared` has both accept from
one (`--worker-sockets shared`), as `c-epoll-w2` does.

{workers}

{_baseline_section(baseline)}{HAND_WRITTEN_MARKER}{hand_written}"""
    path.write_text(text)


def _baseline_section(table: str) -> str:
    if not table:
        return ""
    return f"""### Against a baseline

The servers ending in `{BASE_SUFFIX}` are the same servers run by the
`--baseline` venv's twistd, an earlier responder, interleaved with the current
ones in the same rounds. *current/base*: the current code's CPU per request
over the baseline's in the same round and scenario; the median is over the
rounds, and the rounds are shown side by side for the noise.

{table}

"""


# --- main ------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark responder against the seed, C epoll and plain Twisted."
    )
    p.add_argument("--duration", type=float, default=4.0, help="seconds per run [4]")
    p.add_argument("--rounds", type=int, default=5, help="rounds [5]")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds [1]")
    p.add_argument(
        "--servers",
        type=lambda s: s.split(","),
        default=list(SERVERS),
        help="comma-separated servers, from: " + ", ".join(SERVERS) + " [all]",
    )
    p.add_argument(
        "--scenarios",
        type=lambda s: s.split(","),
        default=list(SCENARIOS),
        help="comma-separated scenarios, from: " + ", ".join(SCENARIOS) + " [all]",
    )
    p.add_argument(
        "--share-runs",
        type=int,
        default=3,
        help=f"runs of {SHARE_REQUESTS:,} requests that count {SHARES_SERVER}'s"
        " workers' shares [3]",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1 round of 2 s, and RESULTS.md is not written",
    )
    p.add_argument(
        "--venv",
        type=Path,
        default=REPO_ROOT / ".venv",
        help="virtualenv whose python and twistd run the Twisted servers [.venv]",
    )
    p.add_argument(
        "--output",
        type=Path,
        help=f"results file [{RESULTS_MD.relative_to(REPO_ROOT)}]",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="VENV",
        help="virtualenv of an earlier responder (a clone checked out at an"
        " earlier commit, after its `make .venv/.installed`): also run "
        + " and ".join(BASELINE_SERVERS)
        + f" with its twistd, as NAME{BASE_SUFFIX}, in the same rounds, and"
        " compare their CPU per request round by round",
    )
    p.add_argument(
        "--baseline-label",
        metavar="TEXT",
        help="the baseline's name in its table, a commit say"
        " [git describe of the checkout it imports responder from]",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup, args.share_runs = 1, 2.0, 0.5, 1
    elif args.output is None:
        args.output = RESULTS_MD
    unknown = [n for n in args.servers if n not in SERVERS] + [
        n for n in args.scenarios if n not in SCENARIOS
    ]
    if unknown:
        p.error("unknown server or scenario: " + ", ".join(unknown))
    if min(args.rounds, args.share_runs) < 1 or min(args.duration, args.warmup) <= 0:
        p.error("--rounds, --share-runs, --duration and --warmup must be positive")
    if args.baseline is None:
        if args.baseline_label is not None:
            p.error("--baseline-label needs --baseline")
    else:
        # Absolute: the servers run in SCRATCH_DIR.
        args.baseline = args.baseline.absolute()
        if not os.access(args.baseline / "bin" / "twistd", os.X_OK):
            p.error(f"--baseline: no {args.baseline / 'bin' / 'twistd'}")
        if not set(BASELINE_SERVERS) & set(args.servers):
            p.error(
                "--baseline compares "
                + " and ".join(BASELINE_SERVERS)
                + ": --servers names neither"
            )
    # Table order is the order of SERVERS and SCENARIOS, whatever the options say;
    # a baseline server follows its current one.
    args.server_specs = []
    for spec in SERVERS.values():
        if spec.name not in args.servers:
            continue
        args.server_specs.append(spec)
        if args.baseline is not None and spec.name in BASELINE_SERVERS:
            args.server_specs.append(
                dataclasses.replace(
                    spec,
                    name=spec.name + BASE_SUFFIX,
                    venv=args.baseline,
                    base_of=spec.name,
                )
            )
    args.scenario_specs = [s for s in SCENARIOS.values() if s.name in args.scenarios]
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    servers: list[ServerSpec] = args.server_specs
    scenarios: list[Scenario] = args.scenario_specs
    build = subprocess.run(["make", "-s", "-C", str(BENCH_DIR)], timeout=BUILD_TIMEOUT)
    if build.returncode != 0:
        print("error: building the C programs failed", file=sys.stderr)
        return 1
    SCRATCH_DIR.mkdir(exist_ok=True)
    busy_before = machine_busy_seconds()
    time.sleep(1.0)
    background = machine_busy_seconds() - busy_before
    if background > 0.2:
        print(
            f"warning: {background:.2f} cores busy before the run started: "
            "other work on this machine will add noise to the figures",
            file=sys.stderr,
        )
    name_width = max([14, *(len(s.name) for s in servers)])
    results: list[RunResult] = []
    shares: list[dict[int, int]] = []
    used_ports: set[int] = set()
    started = time.monotonic()
    try:
        if SHARES_SERVER in args.servers:
            shares = worker_shares(SERVERS[SHARES_SERVER], args, used_ports)
            for counts in shares:
                print(f"{SHARES_SERVER} shares of {SHARE_REQUESTS:,} requests:", counts)
        for rnd in range(args.rounds):
            for scenario, spec in plan(servers, scenarios, rnd):
                r = run_once(spec, scenario, rnd, args, used_ports)
                results.append(r)
                print(
                    f"round {rnd + 1}/{args.rounds}  {scenario.name:9}"
                    f" {spec.name:{name_width}}"
                    f" {r.loadgen['rps']:>9,.0f} rps  {_fmt(r.cpu_us, '6.1f')} us/req"
                    f"  errors {r.errors}  other cores {r.other_cores:.2f}",
                    flush=True,
                )
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        (SCRATCH_DIR / "results.json").write_text(
            json.dumps([dataclasses.asdict(r) for r in results], indent=1)
        )
    rows = summarize(results, servers, scenarios)
    workers = workers_text(
        pair_rows(
            _comparisons(
                results,
                servers,
                scenarios,
                lambda spec: None if spec.single is None else (spec.name, spec.single),
            )
        ),
        shares,
    )
    print(f"\n{text_table(rows)}\n\n{workers}\n")
    baseline = ""
    if args.baseline is not None:
        base_checkout = describe_checkout(args.baseline / "bin")
        label = args.baseline_label or base_checkout.split(" ", 1)[0]
        about = (
            f"Baseline {label}: {args.baseline}, responder from {base_checkout};"
            f" current: {args.venv}, responder from"
            f" {describe_checkout(args.venv / 'bin')}."
        )
        baseline = baseline_text(
            pair_rows(
                _comparisons(
                    results,
                    servers,
                    scenarios,
                    lambda s: None if s.base_of is None else (s.base_of, s.name),
                )
            ),
            label,
            about,
        )
        print(f"{baseline}\n")
    print(f"{time.monotonic() - started:.0f} s in all")
    if args.output is not None:
        write_markdown(
            args.output,
            rows,
            workers,
            machine_info(args.venv / "bin"),
            args,
            baseline,
        )
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
