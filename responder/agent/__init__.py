"""
C{--agent ENDPOINT}: HAProxy's agent check, so that a planned stop is
invisible to clients behind HAProxy.

A running responder answers each agent connection with C{ready}; once
told to stop it answers C{drain} for C{--agent-drain} seconds while it
still listens and serves, and only then stops listening and drains its
open connections, as a Kubernetes C{preStop} wait does.  HAProxy stops
sending new connections to a server in drain at its next agent check, so
no connection is left in a listen queue that nobody will accept from.
"""

from ._agent import AgentFactory, AgentProtocol, agentService

__all__ = ["AgentFactory", "AgentProtocol", "agentService"]
