"""
Framing: where one request ends and the next begins.

Pure functions and a small state machine, with no Twisted: bytes are
pushed in and requests come out, so they are tested without a transport
or a reactor.
"""

from ._framer import StreamFramer, firstRequest

__all__ = ["StreamFramer", "firstRequest"]
