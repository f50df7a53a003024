"""The plain Twisted server a beginner writes from the design card.

Reply "This is the response" plus a NUL to whatever arrives, print the request,
close. Reactor and listenTCP with their default settings: this is the baseline
that responder is compared with, not a tuned server.

Usage: python plain_twisted.py [PORT]   (default 1984, as the seed)
"""

import sys

from twisted.internet import protocol, reactor


class Responder(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:
        print(data.split(b"\0", 1)[0].decode("utf-8", "replace"))
        self.transport.write(b"This is the response\0")
        self.transport.loseConnection()


class ResponderFactory(protocol.Factory):
    protocol = Responder


port = int(sys.argv[1]) if len(sys.argv) > 1 else 1984
reactor.listenTCP(port, ResponderFactory())
reactor.run()
