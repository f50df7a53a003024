"""
Options: text becomes configuration.

The twistd command line (L{Options}) and the tac file's C{RESPONDER_*}
environment variables (L{configFromEnvironment}) are parsed and checked
here, once, into a L{responder.config.ResponderConfig}; a bad value exits
with one line that names it.  Nothing here builds a service or listens.
"""

from ._admin import adminToken, checkAdmin, isLocalEndpoint
from ._endpoints import parseEndpoint
from ._environ import configFromEnvironment
from ._parsers import (
    parseDelimiter,
    parseNetwork,
    positiveInt,
    positiveSeconds,
)
from ._twistd import Options

__all__ = [
    "Options",
    "adminToken",
    "checkAdmin",
    "configFromEnvironment",
    "isLocalEndpoint",
    "parseDelimiter",
    "parseEndpoint",
    "parseNetwork",
    "positiveInt",
    "positiveSeconds",
]
