"""
The README's promises: it opens with the two commands, and its embedding
example runs and prints what the README says it prints.
"""

import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def codeBlockAfter(marker: str) -> str:
    """
    The first fenced code block after C{marker}.
    """
    start = README.index(marker)
    match = re.compile(r"```[a-z]*\n(.*?)```", re.DOTALL).search(README, start)
    assert match is not None
    return match.group(1)


def test_opens_with_two_commands() -> None:
    first = codeBlockAfter("# responder")
    commands = [line.split("#")[0].strip() for line in first.splitlines()]
    assert commands == ["make serve", "make test"]


def test_embedding_example(tmp_path: Path) -> None:
    example = tmp_path / "embedding.py"
    example.write_text(codeBlockAfter("<!-- embedding example"))
    result = subprocess.run(
        [sys.executable, str(example)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == codeBlockAfter("It prints:")
