"""
The client: L{ask} a responder one question from Twisted code, or run
C{responder-client} from a shell; drive a control API with
L{ControlClient} or C{responder-client admin}.  It uses nothing of the
server but the option parsers and escaping, so it can talk to any server that answers
and closes.
"""

from ._admin import AdminOptions, admin
from ._ask import ask
from ._command import ClientOptions, main
from ._control import ControlClient, ControlError, Recorded

__all__ = [
    "AdminOptions",
    "ClientOptions",
    "ControlClient",
    "ControlError",
    "Recorded",
    "admin",
    "ask",
    "main",
]
