"""
Worker counters in shared memory.  With C{--workers N} each worker counts
its own requests; the parent serves the totals.  The parent makes one
unnamed file (L{SharedStatsTable}: nothing on the file system, so nothing
left behind if the parent is killed) with one slot of counters per worker
number, and passes its descriptor to every worker, which maps it and counts
straight into its slot (L{SharedStats}).  Each increment is in the parent's
view at once, so a worker killed with SIGKILL loses none of its counts, and
the worker that replaces it goes on counting in the same slot.
"""

import mmap
import tempfile
from collections.abc import Callable
from typing import cast

from ..core import LATENCY_BUCKETS, LatencyHistogram, ResponderStats
from ._sums import COUNTERS, Snapshot

_BUCKETS = len(LATENCY_BUCKETS) + 1
#: A slot: the open connections, the counters and the latency buckets as
#: 64-bit integers, then the latency total as a double.
_INTS = 1 + len(COUNTERS) + _BUCKETS
SLOT_BYTES = 8 * (_INTS + 1)


class SharedHistogram(LatencyHistogram):
    """
    A L{LatencyHistogram} whose buckets and total live in shared memory.
    """

    def __init__(self, counts: memoryview, total: "memoryview[float]") -> None:
        # Not the dataclass's __init__: that would zero the shared values.
        self._counts = counts
        self._total = total

    @property
    def counts(self) -> list[int]:
        # A memoryview of int64 indexes and assigns like the list.
        return cast(list[int], self._counts)

    @counts.setter
    def counts(self, values: list[int]) -> None:
        for index, value in enumerate(values):
            self._counts[index] = value

    @property
    def total(self) -> float:
        return float(self._total[0])

    @total.setter
    def total(self, value: float) -> None:
        self._total[0] = value


def _counter(index: int) -> property:
    def get(stats: "SharedStats") -> int:
        return int(stats._ints[index])

    def set(stats: "SharedStats", value: int) -> None:
        stats._ints[index] = value

    return property(get, set)


class SharedStats(ResponderStats):
    """
    L{ResponderStats} kept in one slot of a L{SharedStatsTable}, for a
    worker's factory: every counter reads and writes the shared memory.
    Its values are whatever the slot holds, so a replaced worker carries
    on the counts of the one before it.
    """

    def __init__(self, region: memoryview) -> None:
        # Not the dataclass's __init__: that would zero the shared values.
        ints = region[: 8 * _INTS].cast("q")
        self._ints = ints
        self._histogram = SharedHistogram(
            ints[1 + len(COUNTERS) :], region[8 * _INTS :].cast("d")
        )

    @property
    def latency(self) -> LatencyHistogram:
        return self._histogram

    @latency.setter
    def latency(self, histogram: LatencyHistogram) -> None:
        self._histogram.counts = histogram.counts
        self._histogram.total = histogram.total

    def setActive(self, count: int) -> None:
        """
        Record the connections open now, for the parent's gauge.
        """
        self._ints[0] = count


for _index, _name in enumerate(COUNTERS, 1):
    setattr(SharedStats, _name, _counter(_index))


def attachStats(fd: int, slot: int) -> SharedStats:
    """
    Map the table the parent passed as descriptor C{fd}; return the
    counters of slot C{slot} (a worker's number less one).
    """
    view = memoryview(mmap.mmap(fd, 0))
    return SharedStats(view[slot * SLOT_BYTES : (slot + 1) * SLOT_BYTES])


class SharedStatsTable:
    """
    The parent's side: the unnamed file of C{slots} slots, mapped here
    too, from which each scrape reads.
    """

    def __init__(self, slots: int) -> None:
        self._file = tempfile.TemporaryFile(prefix="responder-stats-")
        self._file.truncate(slots * SLOT_BYTES)
        self._map = mmap.mmap(self._file.fileno(), slots * SLOT_BYTES)
        self._view = memoryview(self._map)

    def fileno(self) -> int:
        """
        The descriptor to pass to workers.
        """
        return self._file.fileno()

    def snapshot(self, slot: int, alive: bool) -> Snapshot:
        """
        A copy of slot C{slot}'s counters, and its open connections, which
        count only while its worker runs (C{alive}).
        """
        shared = SharedStats(self._view[slot * SLOT_BYTES : (slot + 1) * SLOT_BYTES])
        stats = ResponderStats()
        for name in COUNTERS:
            setattr(stats, name, getattr(shared, name))
        stats.latency = LatencyHistogram(
            counts=list(shared.latency.counts), total=shared.latency.total
        )
        return stats, int(shared._ints[0]) if alive else 0

    def source(self, alive: Callable[[], list[bool]]) -> Callable[[], list[Snapshot]]:
        """
        A stats source for the collector: every slot, C{alive()} saying
        which slots have a worker running.
        """
        return lambda: [
            self.snapshot(slot, running) for slot, running in enumerate(alive())
        ]

    def close(self) -> None:
        self._view.release()
        self._map.close()
        self._file.close()
