"""
responder: a small, hard-to-break TCP responder built on Twisted.

Each client's request is logged and answered with a fixed, NUL-terminated
response, as the C server it grew from did.  The public API is re-exported
here; C{docs/architecture.md} maps the subpackages behind it.
C{responder.__version__} is the installed C{txresponder} distribution's.
"""

from ._assembly import makeService
from ._version import __version__ as __version__
from .client import ask
from .config import ResponderConfig
from .core import (
    KeepAliveProtocol,
    ResponderFactory,
    ResponderProtocol,
    ResponderService,
    ResponderStats,
)
from .escaping import escapeRequest
from .logs import JSONLogObserver
from .options import configFromEnvironment

__all__ = [
    "JSONLogObserver",
    "KeepAliveProtocol",
    "ResponderConfig",
    "ResponderFactory",
    "ResponderProtocol",
    "ResponderService",
    "ResponderStats",
    "ask",
    "configFromEnvironment",
    "escapeRequest",
    "makeService",
]
