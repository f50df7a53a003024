"""
Worker snapshots: with C{--workers N} each worker owns its counters, so
the totals are gathered through files.  Every worker runs a
L{StatsSnapshotWriter}, which rewrites C{DIRECTORY/worker-PID.json}
(atomically, once a second when something changed, and a last time when it
stops, with no connection open), and the parent's collector adds up
L{readSnapshots} of that directory at each scrape.  A worker that died and
was replaced leaves its file behind, so its counts stay in the totals; its
open connections are not counted once its file is final, or once the
parent leaves its process id out of the C{alive} it passes.
"""

import json
import os
from collections.abc import Container
from pathlib import Path

from twisted.application.service import Service
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from ..core import ResponderFactory, ResponderStats
from ._sums import Snapshot, statsFromJSON, statsToJSON, sumSnapshots

_log = Logger(namespace="responder")


_PREFIX = "worker-"
_SUFFIX = ".json"


def snapshotPath(directory: str | Path, pid: int) -> Path:
    """
    Where the worker with process id C{pid} writes its snapshot.
    """
    return Path(directory) / f"{_PREFIX}{pid}{_SUFFIX}"


def _readSnapshot(path: Path) -> Snapshot:
    """
    @raise ValueError: if C{path} holds no snapshot.
    @raise OSError: if it cannot be read.
    """
    try:
        data = json.loads(path.read_bytes())
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError("not a snapshot")
    active = data.get("active")
    if type(active) is not int:
        raise ValueError("active is not a whole number")
    return statsFromJSON(data.get("stats")), active


def readSnapshots(
    directory: str | Path,
    alive: Container[int] | None = None,
    log: Logger | None = None,
) -> list[Snapshot]:
    """
    Read every worker's snapshot in C{directory}, for a
    L{ResponderCollector} in the parent: C{ResponderCollector(lambda:
    readSnapshots(directory, alive=pids))}.

    Every file counts, including those of workers that have exited, so that
    counters never go down when a worker is replaced.  A worker that stops
    cleanly writes zero open connections last; one that was killed cannot,
    so the open connections of process ids not in C{alive} count as zero
    (when C{alive} is given).

    A file that cannot be read or parsed is logged and skipped.

    @param alive: the process ids of the workers running now, or C{None} to
        trust every file's count of open connections.
    """
    snapshots: list[Snapshot] = []
    for path in sorted(Path(directory).glob(f"{_PREFIX}*{_SUFFIX}")):
        pidText = path.name[len(_PREFIX) : -len(_SUFFIX)]
        if not pidText.isdigit():
            continue
        try:
            stats, active = _readSnapshot(path)
        except (OSError, ValueError) as e:
            (log or _log).warn(
                "cannot read worker stats {path}: {error}", path=str(path), error=e
            )
            continue
        if alive is not None and int(pidText) not in alive:
            active = 0
        snapshots.append((stats, active))
    return snapshots


class StatsSnapshotWriter(Service):
    """
    Keep a worker's counters in C{DIRECTORY/worker-PID.json} for the parent
    to read with L{readSnapshots}.

    While running, the file is rewritten every L{interval} seconds when
    anything changed; stopping writes it a last time with no connection
    open.  Stop it after the worker's L{ResponderService} has drained, so
    that the last counts are in, for example with
    C{reactor.addSystemEventTrigger("after", "shutdown", writer.stopService)}.

    Each write goes to a temporary file that then replaces the snapshot, so
    a reader never sees half a file.  If the file already exists when the
    writer starts, an earlier worker with the same process id wrote it, and
    its counts are carried on, not lost.  The directory belongs to one run
    of the parent: it should make a fresh one, and remove it at exit.

    @ivar path: the snapshot file.
    """

    #: Seconds between checks for changes.
    interval = 1.0

    log = _log

    def __init__(
        self,
        directory: str | Path,
        factory: ResponderFactory,
        clock: IReactorTime,
        pid: int | None = None,
    ) -> None:
        if pid is None:
            pid = os.getpid()
        self.pid = pid
        self.factory = factory
        self.path = snapshotPath(directory, pid)
        self._temporary = self.path.with_name(f".{self.path.name}.tmp")
        self._written: bytes | None = None
        self._carried: ResponderStats | None = None
        self._loop = LoopingCall(self._tick)
        self._loop.clock = clock

    def startService(self) -> None:
        super().startService()  # type: ignore[no-untyped-call]
        if self._carried is None:
            self._carried = self._earlierStats()
        self._loop.start(self.interval, now=True)

    def stopService(self) -> Deferred[None]:
        super().stopService()  # type: ignore[no-untyped-call]
        if self._loop.running:
            self._loop.stop()
        self._tick(final=True)
        return succeed(None)

    def _earlierStats(self) -> ResponderStats:
        try:
            stats, _ = _readSnapshot(self.path)
        except FileNotFoundError:
            return ResponderStats()
        except (OSError, ValueError) as e:
            self.log.warn(
                "ignoring unreadable worker stats {path}: {error}",
                path=str(self.path),
                error=e,
            )
            return ResponderStats()
        return stats

    def _tick(self, final: bool = False) -> None:
        try:
            self.write(final)
        except OSError as e:
            self.log.warn(
                "cannot write worker stats {path}: {error}",
                path=str(self.path),
                error=e,
            )

    def write(self, final: bool = False) -> bool:
        """
        Write the snapshot now, unless it has not changed.

        @param final: write zero open connections, for a worker about to
            exit.
        @return: whether the file was written.
        @raise OSError: if it could not be.
        """
        active = 0 if final else len(self.factory.connections)
        stats = self.factory.stats
        if self._carried is not None:
            stats, _ = sumSnapshots([(self._carried, 0), (stats, 0)])
        data = json.dumps(
            {"pid": self.pid, "active": active, "stats": statsToJSON(stats)},
            separators=(",", ":"),
        ).encode()
        if data == self._written:
            return False
        self._temporary.write_bytes(data)
        os.replace(self._temporary, self.path)
        self._written = data
        return True
