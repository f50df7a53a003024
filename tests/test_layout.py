"""
The layout's promises that import-linter cannot check: what a fresh
interpreter loads, and the size of modules.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Loaded only when metrics are served.
HEAVY = ("prometheus_client", "twisted.web")

# Run in a fresh interpreter: print which of HEAVY the code in argv[1]
# loaded.
_PROBE = """
import json, sys
exec(sys.argv[1])
heavy = %r
print(json.dumps(sorted(
    name for name in sys.modules if name.split(".")[0] in heavy
    or any(name == h or name.startswith(h + ".") for h in heavy)
)))
"""

_WORKER = """
from twisted.internet.testing import MemoryReactorClock
from responder import ResponderConfig
from responder.workers import WorkerSpec
from responder.workers.child import WorkerService
spec = WorkerSpec(1, 1, ResponderConfig(metrics=%r), (), %r)
WorkerService(spec, MemoryReactorClock())
"""

_POOL = """
from twisted.internet.testing import MemoryReactorClock
from responder import ResponderConfig, makeService
makeService(ResponderConfig(workers=2, metrics=%r), MemoryReactorClock())
"""


def loaded(code: str, tmp_path: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,), code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
    )
    names: list[str] = json.loads(result.stdout.splitlines()[-1])
    return names


def test_import_responder_is_light(tmp_path: Path) -> None:
    assert loaded("import responder, responder.tap", tmp_path) == []


@pytest.mark.parametrize("code", [_WORKER, _POOL])
def test_metrics_loaded_only_when_asked(code: str, tmp_path: Path) -> None:
    """
    A worker, and the parent of a pool, without C{--metrics} load neither
    C{prometheus_client} nor C{twisted.web}; with it, the parent loads
    both (so this test can tell).
    """
    if code is _WORKER:
        without = code % (None, None)
        metrics = None
    else:
        without = code % (None,)
        metrics = code % ("tcp:0:interface=127.0.0.1",)
    assert loaded(without, tmp_path) == []
    if metrics is not None:
        heavy = loaded(metrics, tmp_path)
        assert "prometheus_client" in heavy and "twisted.web" in heavy


_ONE = """
from twisted.internet.testing import MemoryReactorClock
from responder import ResponderConfig, makeService
makeService(ResponderConfig(admin=%r), MemoryReactorClock())
"""


def test_web_loaded_only_for_the_control_api(tmp_path: Path) -> None:
    """
    Without C{--admin}, one process does not load C{twisted.web}; with it,
    it does (so this test can tell).
    """
    assert loaded(_ONE % (None,), tmp_path) == []
    heavy = loaded(_ONE % ("tcp:0:interface=127.0.0.1",), tmp_path)
    assert "twisted.web" in heavy and "prometheus_client" not in heavy


#: Modules allowed past the size limit, each with its reason in its
#: docstring.
LONG = {"responder/rules/_validation.py"}
LIMIT = 300


def test_modules_are_small() -> None:
    for path in sorted((REPO / "responder").rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        lines = len(path.read_text().splitlines())
        if name in LONG:
            docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert "splitting" in docstring, f"{name} does not say why it is long"
        else:
            assert lines <= LIMIT, f"{name} has {lines} lines"
