"""
Counters as data: a stats source for the collector, adding up the counters
of several processes, and the JSON form workers write them in.
"""

from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

from ..core import LatencyHistogram, ResponderFactory, ResponderStats

#: What a stats source gives: counters, and the connections open now.
Snapshot = tuple[ResponderStats, int]

#: Where a collector gets its snapshots from, at each scrape.
StatsSource = Callable[[], Iterable[Snapshot]]

#: The integer counters of L{ResponderStats}, whatever gets added later.
COUNTERS = tuple(f.name for f in fields(ResponderStats) if f.name != "latency")


def factorySource(factory: ResponderFactory) -> StatsSource:
    """
    The stats source of one process: C{factory}'s counters and open
    connections, read afresh at every scrape.
    """
    return lambda: [(factory.stats, len(factory.connections))]


def sumSnapshots(snapshots: Iterable[Snapshot]) -> Snapshot:
    """
    Add up several processes' counters, histograms and open connections.
    """
    total = ResponderStats()
    active = 0
    for stats, count in snapshots:
        for name in COUNTERS:
            setattr(total, name, getattr(total, name) + getattr(stats, name))
        total.latency.counts = [
            a + b
            for a, b in zip(total.latency.counts, stats.latency.counts, strict=True)
        ]
        total.latency.total += stats.latency.total
        active += count
    return total, active


def statsToJSON(stats: ResponderStats) -> dict[str, Any]:
    """
    C{stats} as JSON-ready data.
    """
    data: dict[str, Any] = {name: getattr(stats, name) for name in COUNTERS}
    data["latency"] = {
        "counts": list(stats.latency.counts),
        "total": stats.latency.total,
    }
    return data


def statsFromJSON(data: object) -> ResponderStats:
    """
    The L{ResponderStats} that L{statsToJSON} made C{data} from.  Missing
    counters are zero, unknown ones are ignored.

    @raise ValueError: if C{data} is not stats, or its histogram has other
        buckets.
    """
    if not isinstance(data, dict):
        raise ValueError("stats are not an object")
    stats = ResponderStats()
    for name in COUNTERS:
        value = data.get(name, 0)
        if type(value) is not int:
            raise ValueError(f"{name} is not a whole number")
        setattr(stats, name, value)
    latency = data.get("latency", {})
    if not isinstance(latency, dict):
        raise ValueError("latency is not an object")
    counts = latency.get("counts", stats.latency.counts)
    total = latency.get("total", 0.0)
    if (
        not isinstance(counts, list)
        or len(counts) != len(stats.latency.counts)
        or not all(type(count) is int for count in counts)
    ):
        raise ValueError("latency counts do not match the buckets")
    if type(total) not in (int, float):
        raise ValueError("latency total is not a number")
    stats.latency = LatencyHistogram(counts=counts, total=float(total))
    return stats
