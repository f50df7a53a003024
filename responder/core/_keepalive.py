"""
Keep-alive connections: every delimited request on a connection answered,
in order, with bounded memory.
"""

from typing import cast

from twisted.internet.interfaces import IConsumer, IPushProducer
from zope.interface import implementer

from ..framing import StreamFramer
from ._protocol import ResponderProtocol


@implementer(IPushProducer)
class KeepAliveProtocol(ResponderProtocol):
    """
    Keep the connection open and answer every request on it: each request
    ends with the factory's delimiter (NUL by default), and each gets one
    response, in order, however the requests are split or pipelined.

    Memory stays bounded: of a request longer than C{maxRequest}, only the
    first C{maxRequest} bytes are kept (and answered, once the delimiter
    comes); and a client that pipelines requests without reading the
    responses is stopped from sending more (the transport stops reading)
    until it has read them.  That pause also holds within one chunk of
    data: 64 KiB of NULs would otherwise be 65 536 responses, 1.4 MB,
    buffered at once.  While a rule delays an answer, later requests wait,
    unread, so that answers keep their order.

    The idle timeout starts again after each response.  End of input ends
    a pending partial request, which is answered before the close.

    A connection is not kept for ever, however busy (as nginx's
    C{keepalive_requests} and C{keepalive_time}): after
    C{keepAliveRequests} answers, or the first answer once
    C{keepAliveTime} seconds have passed, it is closed politely, as a
    stopping server closes it; requests sent after that one go unanswered.
    """

    def connectionMade(self) -> None:
        config = self.factory.config
        self._framer = StreamFramer(config.delimiter, config.maxRequest)
        self._answersLeft = config.keepAliveRequests
        self._closeAfter = self.factory.clock.seconds() + config.keepAliveTime
        self._ended = False
        self._processing = False
        self._draining = False
        #: The transport's write buffer is full: the client is not reading.
        self._paused = False
        super().connectionMade()
        cast(IConsumer, self.transport).registerProducer(self, True)

    def dataReceived(self, data: bytes) -> None:
        self.factory.stats.bytesIn += len(data)
        self.heard = True
        self._framer.receive(data)
        self._process()

    def _process(self) -> None:
        """
        Answer the requests received so far, one at a time: stop (and stop
        reading) while an answer is in progress or the client is not
        reading its answers, and keep the rest for then.
        """
        self._processing = True
        try:
            framer = self._framer
            while not self.closing:
                if self._busy or self._paused:
                    if framer.unread:
                        cast(IPushProducer, self.transport).pauseProducing()
                    return
                request = framer.next()
                if request is None:
                    return
                self.answer(request)
        finally:
            self._processing = False

    def requestDone(self) -> None:
        """
        Restart the idle timeout, and go on with requests that waited; or
        close, if the server is stopping or this connection has had its
        answers or its time.
        """
        factory = self.factory
        now = factory.clock.seconds()
        self.deadline = now + factory.config.timeout
        if self._answersLeft is not None:
            self._answersLeft -= 1
        if self._answersLeft == 0 or now >= self._closeAfter:
            self.close()
        elif self._draining:
            self._closeIfIdle()
        elif not self._processing:
            # An answer that a rule delayed is done: carry on.
            self._continue()

    def drain(self) -> None:
        """
        The server is stopping: close at once if no request is under way,
        otherwise as soon as the one in progress has been answered.  An
        idle keep-alive connection would otherwise hold the stop up for
        the whole drain timeout, and then be reset.
        """
        self._draining = True
        self._closeIfIdle()

    def _closeIfIdle(self) -> None:
        # Requests queued behind the one in progress are not answered: the
        # client sees the close after the last answer it got.
        if not (self._busy or self._framer.partial or self.closing):
            self.close()

    def close(self) -> None:
        """
        Stop producing, then close once everything written has been sent:
        a transport does not close while a producer is registered (over
        TLS never, over TCP not while it has paused it).
        """
        if not self.closing:
            cast(IConsumer, self.transport).unregisterProducer()
        super().close()

    def _continue(self) -> None:
        """
        Answer the requests that waited for an answer in progress or for
        the client to read; once input has ended and everything is
        answered, close.
        """
        if not (self._paused or self._ended or self.closing):
            # Reading stopped while a rule held the answer; go on.
            cast(IPushProducer, self.transport).resumeProducing()
        if self._framer.unread:
            self._process()
        if self._ended and not (self._busy or self._framer.unread or self.closing):
            self._endInput()

    def readConnectionLost(self) -> None:
        self._ended = True
        if not (self._busy or self._processing):
            self._continue()

    def _endInput(self) -> None:
        """
        End of input: answer an unfinished request (whose L{requestDone}
        comes back here), or close.
        """
        request = self._framer.finish()
        if request is None:
            if not self.heard:
                self.probed()
            self.close()
        else:
            self.answer(request)

    def pauseProducing(self) -> None:
        """
        The client is not reading its responses: stop answering and reading
        its requests.
        """
        self._paused = True
        cast(IPushProducer, self.transport).pauseProducing()

    def resumeProducing(self) -> None:
        """
        The client has read its responses: answer the requests that waited
        and read more, unless an answer in progress holds them back.
        """
        self._paused = False
        if not self._busy:
            cast(IPushProducer, self.transport).resumeProducing()
            if not self._processing:
                self._continue()

    def stopProducing(self) -> None:
        """
        The connection is going; nothing to stop.
        """
