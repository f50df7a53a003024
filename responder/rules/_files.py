"""
Reading the files a rules file names, and the rules file itself: regular
files only, of bounded size, opened without blocking.
"""

import os
import stat
from pathlib import Path

# Rules files and response files are read whole into memory: a limit keeps a
# mistaken path (a disk image, a log) from taking the server down.
MAX_FILE_BYTES = 16 * 1024 * 1024


class Unreadable(Exception):
    """
    A file cannot be read; the message says why.
    """


def readFile(path: Path) -> bytes:
    """
    Read a regular file of at most L{MAX_FILE_BYTES}.

    It is opened without blocking, so that a FIFO or a device named by
    mistake is refused rather than waited on.

    @raise Unreadable: if it cannot be.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise Unreadable(e.strerror or str(e)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Unreadable("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise Unreadable(e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return data
