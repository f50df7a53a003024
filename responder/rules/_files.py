"""
Reading the files a rules file names, and the rules file itself: regular
files only, of bounded size, opened without blocking, never from a
kernel's special file system, and (for the files a rules file names) only
inside the folder they are named from unless the operator allows more.
"""

import os
import stat
from pathlib import Path

# Rules files and response files are read whole into memory: a limit keeps a
# mistaken path (a disk image, a log) from taking the server down.
MAX_FILE_BYTES = 16 * 1024 * 1024

#: File systems whose "files" are the kernel's view of processes and
#: devices: /proc/self/environ is a regular file there, and holds secrets.
_SPECIAL_FILE_SYSTEMS = frozenset(
    {
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "debugfs",
        "tracefs",
        "securityfs",
        "cgroup",
        "cgroup2",
        "configfs",
        "efivarfs",
        "bpf",
        "pstore",
        "fusectl",
        "binfmt_misc",
        "nsfs",
        "selinuxfs",
    }
)


class Unreadable(Exception):
    """
    A file cannot be read; the message says why.
    """


def _specialDevices(mountinfo: str = "/proc/self/mountinfo") -> frozenset[int]:
    """
    The device numbers of the special file systems mounted now, from
    C{mountinfo} (a line per mount: its third field is the device as
    C{MAJOR:MINOR}, and its type follows the C{" - "} separator).  Empty
    where there is no such file (not Linux).
    """
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return frozenset()
    devices = set()
    for line in lines:
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 3 or rest.split(" ", 1)[0] not in _SPECIAL_FILE_SYSTEMS:
            continue
        major, _, minor = parts[2].partition(":")
        if major.isdigit() and minor.isdigit():
            devices.add(os.makedev(int(major), int(minor)))
    return frozenset(devices)


def confined(path: Path, folder: Path) -> Path:
    """
    The real path of C{path}, symlinks followed, if it lies inside
    C{folder} (whose own symlinks are followed too).

    @raise Unreadable: if it leaves C{folder}.
    """
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(os.path.realpath(folder)):
        raise Unreadable(
            f"leads outside {folder} (to {real}); --rules-outside-folder allows that"
        )
    return real


def readFile(path: Path) -> bytes:
    """
    Read a regular file of at most L{MAX_FILE_BYTES}.

    It is opened without blocking, so that a FIFO or a device named by
    mistake is refused rather than waited on; a file on a special file
    system (C{/proc}, C{/sys}) is refused too.

    @raise Unreadable: if it cannot be.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise Unreadable(e.strerror or str(e)) from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise Unreadable("not a regular file")
        if status.st_dev in _specialDevices():
            raise Unreadable("on a special file system (such as /proc or /sys)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise Unreadable(e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return data
