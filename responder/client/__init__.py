"""
The client: L{ask} a responder one question from Twisted code, or run
C{responder-client} from a shell.  It uses nothing of the server but the
option parsers and escaping, so it can talk to any server that answers
and closes.
"""

from ._ask import ask
from ._command import ClientOptions, main

__all__ = ["ClientOptions", "ask", "main"]
