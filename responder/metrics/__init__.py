"""
Metrics: responder's counters for Prometheus.

This package's own names are light: adding up counters, and the shared
memory through which workers report theirs.  The Prometheus collector
(L{responder.metrics.collector}) and the HTTP endpoint
(L{responder.metrics.serving}, the one module that uses C{twisted.web})
are imported by name, only when C{--metrics} asks for them, so that
neither C{prometheus_client} nor C{twisted.web} is loaded otherwise.
"""

from ._shared import SLOT_BYTES, SharedStats, SharedStatsTable, attachStats
from ._sums import (
    COUNTERS,
    Snapshot,
    StatsSource,
    factorySource,
    statsFromJSON,
    statsToJSON,
    sumSnapshots,
)

__all__ = [
    "COUNTERS",
    "SLOT_BYTES",
    "SharedStats",
    "SharedStatsTable",
    "Snapshot",
    "StatsSource",
    "attachStats",
    "factorySource",
    "statsFromJSON",
    "statsToJSON",
    "sumSnapshots",
]
