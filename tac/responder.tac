# Run with: twistd -ny tac/responder.tac
#
# Configured by environment variables, one per option of `twistd responder`:
# RESPONDER_PORT (a port number or endpoint description, default 1984),
# RESPONDER_LISTEN, RESPONDER_RESPONSE, RESPONDER_MAX_REQUEST,
# RESPONDER_TIMEOUT, RESPONDER_MAX_CONNECTIONS, RESPONDER_MAX_PER_IP,
# RESPONDER_BUSY_RESPONSE, RESPONDER_ALLOW, RESPONDER_DENY, RESPONDER_BACKLOG,
# RESPONDER_DRAIN_TIMEOUT, RESPONDER_KEEP_ALIVE, RESPONDER_DELIMITER,
# RESPONDER_WORKERS, RESPONDER_LOG_FORMAT, RESPONDER_RULES, RESPONDER_METRICS,
# RESPONDER_REQUEST_LOG, RESPONDER_QUIET, RESPONDER_WORKER_TIMEOUT,
# RESPONDER_WORKER_SOCKETS, RESPONDER_AGENT, RESPONDER_AGENT_DRAIN.
# See docs/operations.md.
import os
import sys

from twisted.application.service import Application
from twisted.internet import reactor
from twisted.logger import ILogObserver

from responder import JSONLogObserver, configFromEnvironment, makeService
from responder.core import useMonotonicClock

config = configFromEnvironment(os.environ)
# Timers that a step of the wall clock cannot move, as twistd responder's.
useMonotonicClock(reactor)
application = Application("responder")
if config.logFormat == "json":
    # twistd logs through an application's ILogObserver when it has one.
    application.setComponent(ILogObserver, JSONLogObserver(sys.stdout))
makeService(config).setServiceParent(application)
