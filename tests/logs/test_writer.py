"""
L{LogWriter} on real descriptors: it never blocks, keeps a bounded backlog,
drops and counts what does not fit, reports a failing log on its own line
at most every few seconds, and recovers by itself.
"""

import fcntl
import os
import select
import shutil
import tempfile
from pathlib import Path

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from responder.logs import LogWriter

LINE = "2026-12-02T08:00:00+0000 [responder#info] 127.0.0.1:5 hello\n"


class WriterTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.reports: list[str] = []
        self.droppedCounts: list[int] = []

    def writer(self, fd: int) -> LogWriter:
        writer = LogWriter(
            fd,
            self.clock,
            onDropped=self.droppedCounts.append,
            report=self.reports.append,
        )
        writer.backlogLimit = 10 * len(LINE)
        return writer

    def pipe(self) -> tuple[int, int]:
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        self.addCleanup(os.close, write)
        return read, write

    def test_regular_file(self) -> None:
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "log")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        self.addCleanup(os.close, fd)
        writer = self.writer(fd)
        writer.write(LINE * 2, 2)
        self.assertEqual(Path(path).read_text(), LINE * 2)
        self.assertEqual((writer.written, writer.dropped), (2, 0))

    def test_unread_pipe_never_blocks(self) -> None:
        """
        A pipe nobody reads fills up; writing goes on without blocking: the
        backlog holds what fits, the rest is dropped and counted, and the
        failure is reported once.
        """
        read, write = self.pipe()
        writer = self.writer(write)
        size = fcntl.fcntl(write, fcntl.F_GETPIPE_SZ)
        count = 2 * size // len(LINE)  # twice what the pipe holds: would block
        for _ in range(count):
            writer.write(LINE, 1)
        self.assertEqual(writer.backlogBytes, 10 * len(LINE))
        inPipe = len(os.read(read, 1 << 20)) // len(LINE)
        self.assertEqual(writer.written, inPipe)
        self.assertEqual(writer.dropped, count - inPipe - 10)
        self.assertEqual(sum(self.droppedCounts), writer.dropped)
        self.assertEqual(len(self.reports), 1)
        self.assertIn("cannot write the request log", self.reports[0])
        # Once read, the backlog goes out at the next retry, and the log says
        # it recovered, with the count of what was lost.
        self.clock.advance(LogWriter.retryDelay)
        self.assertEqual(writer.backlogBytes, 0)
        self.assertEqual(len(os.read(read, 1 << 20)), 10 * len(LINE))
        self.assertEqual(writer.written, inPipe + 10)
        self.assertIn(f"{writer.dropped} lines were dropped", self.reports[-1])

    def test_whole_lines_per_write(self) -> None:
        """
        Each write to a pipe is at most PIPE_BUF bytes and ends at a line
        end, so that several processes' lines never mix.
        """
        read, write = os.pipe()
        self.addCleanup(os.close, read)
        self.addCleanup(os.close, write)
        writer = self.writer(write)
        writer.backlogLimit = 1 << 20
        text = LINE * 200  # 12 KiB
        writes: list[bytes] = []
        real = os.write

        def recordingWrite(fd: int, data: bytes) -> int:
            writes.append(bytes(data))
            return real(fd, data)

        self.patch(os, "write", recordingWrite)
        writer.write(text, 200)
        self.assertEqual(b"".join(writes), text.encode())
        for piece in writes:
            self.assertLessEqual(len(piece), select.PIPE_BUF)
            self.assertTrue(piece.endswith(b"\n"))

    def test_full_disk(self) -> None:
        """
        /dev/full fails every write: the failure is reported once, lines
        wait and then are dropped, and nothing raises.
        """
        fd = os.open("/dev/full", os.O_WRONLY)
        self.addCleanup(os.close, fd)
        writer = self.writer(fd)
        for _ in range(30):
            writer.write(LINE, 1)
            self.clock.advance(LogWriter.retryDelay)
        self.assertEqual((writer.written, writer.dropped), (0, 20))
        [report] = self.reports
        self.assertIn("No space left on device", report)
        # Reported again once the interval has passed (by the retry), not
        # before.
        self.clock.advance(LogWriter.reportInterval)
        writer.write(LINE, 1)
        self.assertEqual(len(self.reports), 2)
        self.assertIn("20 lines dropped so far", self.reports[1])
        self.assertEqual(writer.dropped, 21)

    def test_closed_pipe(self) -> None:
        """
        A pipe whose reader has gone: EPIPE, reported, no exception.
        """
        read, write = os.pipe()
        self.addCleanup(os.close, write)
        os.close(read)
        writer = self.writer(write)
        writer.write(LINE, 1)
        self.assertEqual(writer.written, 0)
        self.assertIn("Broken pipe", self.reports[0])
