"""
twistd support: the module the plugin in C{twisted/plugins/responder_plugin.py}
names by string, so that listing plugins does not import responder.  Options
come from L{responder.options}, the service from the assembly.
"""

from typing import TYPE_CHECKING

from ._assembly import makeService as _makeService
from .core import ResponderService
from .options import Options

if TYPE_CHECKING:
    from .workers import WorkerPoolService

__all__ = ["Options", "makeService"]


def makeService(options: Options) -> "ResponderService | WorkerPoolService":
    """
    Make the service for C{twistd responder}.
    """
    return _makeService(options.config)
