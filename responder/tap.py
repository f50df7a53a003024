"""
twistd support: the module the plugin in C{twisted/plugins/responder_plugin.py}
names by string, so that listing plugins does not import responder.  Options
come from L{responder.options}, the service from the assembly.
"""

from typing import TYPE_CHECKING

from ._assembly import makeService as _makeService
from .core import ResponderService, installedReactor, useMonotonicClock
from .options import Options

if TYPE_CHECKING:
    from .workers import WorkerPoolService

__all__ = ["Options", "makeService"]


def makeService(options: Options) -> "ResponderService | WorkerPoolService":
    """
    Make the service for C{twistd responder}, on a reactor whose timers a
    step of the wall clock cannot move (see L{useMonotonicClock}).
    """
    useMonotonicClock(installedReactor())
    return _makeService(options.config)
