"""
The request journal (C{--journal N}): the last requests, with their exact
bytes, peer, time, outcome and the rule that matched, kept for a test to
ask about through the control API.  Pure data: no Twisted.
"""

from ._journal import (
    DEFAULT_BYTES,
    ENTRY_OVERHEAD,
    MAX_PEER,
    Journal,
    JournalEntry,
)

__all__ = [
    "DEFAULT_BYTES",
    "ENTRY_OVERHEAD",
    "MAX_PEER",
    "Journal",
    "JournalEntry",
]
