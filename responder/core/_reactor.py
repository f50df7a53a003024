"""
The reactor, for code that takes an injectable one and falls back to it.
"""

from typing import cast

from twisted.internet.interfaces import IReactorTime


def installedReactor() -> IReactorTime:
    """
    The global reactor, imported only when needed so that importing
    responder does not install one (embedders and twistd choose theirs).
    """
    from twisted.internet import reactor

    return cast(IReactorTime, reactor)
