"""
Make C{twistd responder} (and C{twist responder}) available.  The module is
named by string so that listing plugins does not import responder.
"""

from twisted.application.service import ServiceMaker

responder = ServiceMaker(
    "responder",
    "responder.tap",
    "A TCP responder: log each request, answer with a NUL-terminated reply.",
    "responder",
)
