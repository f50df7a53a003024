"""
The documentation's promises that need no server: every relative link in
the README and the pages under C{docs/} leads to a file of the checkout (or,
for C{apidocs/}, to a page C{make docs} builds), and the design notes keep
decisions, not a diary.
"""

import re
from pathlib import Path

from responder.rules import loadRules

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_relative_links_resolve() -> None:
    for page in PAGES:
        for target in _LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            resolved = (page.parent / target).resolve()
            if resolved.is_relative_to(REPO / "apidocs"):
                # Built by make docs from the docstrings; named as pydoctor
                # names pages: a dotted module or class name.
                assert re.fullmatch(r"(index|responder(\.\w+)*)\.html", resolved.name)
                continue
            assert resolved.exists(), f"{page.name}: {target}"


def test_readme_links_every_user_guide() -> None:
    readme = (REPO / "README.md").read_text()
    for page in sorted((REPO / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in readme, f"README does not link {page.name}"


def test_design_keeps_decisions_not_history() -> None:
    design = (REPO / "docs" / "design.md").read_text()
    assert not re.search(r"(?i)\bissue \d+|\bsession\b", design)


def test_newline_response_rule(tmp_path: Path) -> None:
    """
    The catch-all rule in C{docs/protocol.md} answers every request with
    the default text and a newline instead of the NUL.
    """
    page = (REPO / "docs" / "protocol.md").read_text()
    block = re.search(r"```toml\n(.*?)```", page, re.DOTALL)
    assert block is not None
    rules = tmp_path / "rules.toml"
    rules.write_text(block.group(1))
    rule = loadRules(rules).match(b"anything")
    assert rule is not None
    assert rule.response == b"This is the response\n"
