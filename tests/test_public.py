"""
The public API is what C{responder} exports, and each name is documented
in C{docs/api.md}, which the README links.
"""

import re
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
    """
    Each public name has a row of its own in the API table of
    C{docs/api.md}: its name in the first cell, not just a mention in
    another's row.
    """
    api = Path(__file__).resolve().parent.parent / "docs" / "api.md"
    table = api.read_text()
    firstCells = [
        line.split("|")[1]
        for line in table.splitlines()
        if line.startswith(("| `", "| [`"))
    ]
    for name in PUBLIC:
        assert any(re.search(rf"`{name}[`(]", cell) for cell in firstCells), (
            f"{name} has no row in docs/api.md"
        )
