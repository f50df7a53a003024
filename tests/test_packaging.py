"""
What C{pip install .} gives a user: the wheel carries the twistd plugin
(and no C{twisted/__init__.py} that would shadow Twisted), and in a fresh
virtual environment C{twistd --help} lists responder; and what C{pip
install -e .} gives a developer: C{twistd responder} runs the checkout.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "dropin.cache",
    "mutants",
)

# Each test installs Twisted into a new virtual environment; the steps have
# their own time limits below, which this covers.
pytestmark = pytest.mark.timeout(900)


def freshVenv(where: Path) -> Path:
    """
    A new virtual environment at C{where}, from the interpreter behind the
    one running the tests, if there is one.
    """
    python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([python, "-m", "venv", str(where)], check=True, timeout=120)
    return where / "bin"


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
    [built] = work.glob("txresponder-*.whl")
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
    bin = freshVenv(tmp_path / "venv")
    subprocess.run(
        [str(bin / "pip"), "install", "--quiet", str(wheel)],
        check=True,
        timeout=600,
    )
    listing = subprocess.run(
        [str(bin / "twistd"), "--help"],
        capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert "responder" in listing.stdout
    options = subprocess.run(
        [str(bin / "twistd"), "responder", "--help"],
        capture_output=True, text=True, check=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert "--max-request" in options.stdout


def make(*arguments: str) -> list[str]:
    """
    The commands C{make ARGUMENTS} would run from a fresh clone (C{-B}: as
    if nothing were built yet), without running them.
    """
    # Not as a sub-make of make test, which would add its own lines.
    outer = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    env = {name: value for name, value in os.environ.items() if name not in outer}
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "--no-print-directory", *arguments],
        capture_output=True, text=True, check=True, timeout=60, cwd=REPO, env=env,
    )  # fmt: skip
    return result.stdout.splitlines()


def test_serve_installs_only_the_package() -> None:
    """
    C{make serve} installs responder and its dependencies, not the test
    tools, and runs the command the README names.
    """
    commands = make("serve")
    installs = [line for line in commands if " install " in line]
    assert installs[-1].endswith("pip install --quiet -e .")
    assert not any("[test]" in line for line in commands)
    assert commands[-1] == ".venv/bin/twistd -n responder --port 1984"


def test_test_runs_the_docs_build() -> None:
    """
    C{make test}, which CI runs, builds the API docs with warnings as
    errors.
    """
    assert any("pydoctor" in line and "--warnings-as-errors" in line
               for line in make("test"))  # fmt: skip


def test_editable_install_runs_the_checkout(tmp_path: Path) -> None:
    """
    After a plain C{pip install -e} of a checkout, twistd finds the plugin
    (it scans C{sys.path} for C{twisted/plugins/}, which an import hook
    would not provide) and runs the checkout's code: an option added to
    the checkout shows in C{twistd responder --help} at once.
    """
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=_NOT_SOURCE)
    bin = freshVenv(tmp_path / "venv")
    subprocess.run(
        [str(bin / "pip"), "install", "--quiet", "-e", str(source)],
        check=True,
        timeout=600,
    )
    twistd = source / "responder" / "options" / "_table.py"
    twistd.write_text(
        twistd.read_text().replace('"max-request"', '"max-edited-request"')
    )
    options = subprocess.run(
        [str(bin / "twistd"), "responder", "--help"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert options.returncode == 0, options.stdout + options.stderr
    assert "--max-edited-request" in options.stdout
