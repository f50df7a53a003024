"""
What C{pip install .} gives a user: the wheel carries the twistd plugin
(and no C{twisted/__init__.py} that would shadow Twisted), and in a fresh
virtual environment C{twistd --help} lists responder.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "dropin.cache"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """
    Build the wheel from a copy of the source tree, so the checkout is left
    untouched.
    """
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCE)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--no-build-isolation", "--wheel-dir", str(work), str(source)],
        check=True,
        timeout=300,
    )  # fmt: skip
    [built] = work.glob("responder-*.whl")
    return built


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "twisted/plugins/responder_plugin.py" in names
    assert "twisted/__init__.py" not in names
    assert "twisted/plugins/__init__.py" not in names
    assert "responder/py.typed" in names
    assert "responder/tap.py" in names
    # Every subpackage is listed in pyproject.toml, which names them one by
    # one (see there why): a new one left out would be missing here.
    for module in (REPO / "responder").rglob("*.py"):
        if "__pycache__" not in module.parts:
            assert module.relative_to(REPO).as_posix() in names
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)
    # pytest finds the test double's fixtures through this entry point.
    [entryPoints] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entryPoints).decode()
    assert "[pytest11]\nresponder = responder.testing.plugin\n" in text


def test_fresh_venv_lists_plugin(wheel: Path, tmp_path: Path) -> None:
    """
    After a plain install into a new virtual environment, twistd finds the
    plugin and can show its options.
    """
    venv = tmp_path / "venv"
    # The interpreter behind the venv running the tests, if there is one.
    python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)],
        check=True,
        timeout=600,
    )
    listing = subprocess.run(
        [str(venv / "bin" / "twistd"), "--help"],
        capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert "responder" in listing.stdout
    options = subprocess.run(
        [str(venv / "bin" / "twistd"), "responder", "--help"],
        capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert "--max-request" in options.stdout
