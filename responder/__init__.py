"""
responder: a small, hard-to-break TCP responder built on Twisted.

Each client's request is logged and answered with a fixed, NUL-terminated
response, as the C server it grew from did.  The public API is re-exported
here; the modules behind it are private.
"""

from ._client import ask
from ._config import ResponderConfig
from ._environ import configFromEnvironment
from ._escape import escapeRequest
from ._factory import ResponderFactory
from ._jsonlog import JSONLogObserver
from ._protocol import KeepAliveProtocol, ResponderProtocol
from ._service import ResponderService, makeService
from ._stats import ResponderStats

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
