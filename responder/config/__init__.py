"""
Configuration: the one frozen object that options and environment
variables become, and that the assembly turns into services.

It imports nothing of responder but plain values, so every other part may
depend on it.
"""

from ._config import DEFAULT_PORT, DEFAULT_RESPONSE, Network, ResponderConfig
from ._endpoints import endpointType, unwrapProxy

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_RESPONSE",
    "Network",
    "ResponderConfig",
    "endpointType",
    "unwrapProxy",
]
