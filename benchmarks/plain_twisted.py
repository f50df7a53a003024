"""The plain Twisted server a beginner writes from the design card.

Print the request, reply "This is the response" plus a NUL, close. Reactor and
listenTCP keep their default settings: this is the baseline that responder is
compared with, not a tuned server.

Usage: python plain_twisted.py [PORT]   (default 1984, as the seed)
"""

import sys

from twisted.internet import protocol, reactor
from twisted.internet.interfaces import ITransport


class Responder(protocol.Protocol):
    transport: ITransport  # for the type checker: set before dataReceived runs

    def dataReceived(self, data: bytes) -> None:
        print(data)
        self.transport.write(b"This is the response\0")
        self.transport.loseConnection()


class ResponderFactory(protocol.ServerFactory):
    protocol = Responder


port = int(sys.argv[1]) if len(sys.argv) > 1 else 1984
reactor.listenTCP(port, ResponderFactory())
reactor.run()
