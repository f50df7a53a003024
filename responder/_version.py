"""
responder's version, from one source of truth: the metadata of the installed
distribution, C{txresponder} (the name C{responder} on PyPI is another
project's).  Nothing else states the version but C{pyproject.toml}.
"""

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "txresponder"


def distributionVersion(distribution: str) -> str:
    """
    The installed version of C{distribution}, or C{"unknown"} when it is not
    installed (a checkout put on C{sys.path} by hand), so that asking for a
    version never stops a server.
    """
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


__version__ = distributionVersion(DISTRIBUTION)
