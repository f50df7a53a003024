"""
responder as a test double: L{ResponderServer} runs it in a process of
its own, steered through the control API (for any test suite, and the
pytest plugin's fixtures, in L{responder.testing.plugin}), and
L{startResponder} runs it in the test's own reactor (for Twisted tests).
"""

from ._inprocess import InProcessResponder, startResponder
from ._process import ResponderServer

__all__ = ["InProcessResponder", "ResponderServer", "startResponder"]
