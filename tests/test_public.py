"""
The public API is what C{responder} exports, and each name is documented
in the README.
"""

from pathlib import Path

import responder

PUBLIC = {
    "JSONLogObserver",
    "KeepAliveProtocol",
    "ResponderConfig",
    "ResponderFactory",
    "ResponderProtocol",
    "ResponderService",
    "ResponderStats",
    "ask",
    "configFromEnvironment",
    "escapeRequest",
    "makeService",
}


def test_exports() -> None:
    assert set(responder.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(responder, name).__doc__, f"{name} has no docstring"


def test_documented() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in PUBLIC:
        assert f"`{name}" in readme, f"{name} is not in the README"
