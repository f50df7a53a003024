"""
What is shipped for deployment, tested as far as this machine allows: the
Containerfile's conventions (read), its install and start commands (run in
a fresh virtual environment, as a non-root user), the Kubernetes manifests
(validated against the schemas of a stated Kubernetes version) and the
HAProxy configuration (checked by HAProxy).  No container engine runs here.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ._server import BIN, REPO, request, runningServer
from .e2e.test_twistd import RESPONSE

CONTAINERFILE = REPO / "Containerfile"
MANIFESTS = REPO / "contrib" / "kubernetes" / "responder.yaml"
HAPROXY_CFG = REPO / "contrib" / "haproxy" / "haproxy.cfg"

#: The Kubernetes version the manifests are validated against.
KUBERNETES = "1.34.0"


def instructions() -> list[tuple[str, str]]:
    """
    The Containerfile's instructions, continuation lines joined.
    """
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def finalStage() -> list[tuple[str, str]]:
    steps = instructions()
    last = max(i for i, (name, _) in enumerate(steps) if name == "FROM")
    return steps[last:]


def test_containerfile_conventions() -> None:
    """
    A slim official Python base, the wheel installed with no compiler and
    no cache left, a non-root user, exec-form twistd in the foreground
    with no pid file, SIGTERM, port 1984.
    """
    final = finalStage()
    values: dict[str, list[str]] = {}
    for name, value in final:
        values.setdefault(name, []).append(value)
    [base] = values["FROM"]
    assert re.fullmatch(r"python:3\.\d+-slim", base), base
    build = next(value for name, value in instructions() if name == "FROM")
    assert re.fullmatch(r"python:3\.\d+-slim AS build", build), build
    runs = " ".join(values["RUN"])
    assert "pip install --no-cache-dir /wheels/*.whl" in runs
    assert not re.search(r"apt-get|gcc|build-essential|-dev\b", runs)
    [user] = values["USER"]
    assert user.split(":")[0] not in ("0", "root")
    assert values["STOPSIGNAL"] == ["SIGTERM"]
    assert values["EXPOSE"] == ["1984"]
    [entrypoint] = values["ENTRYPOINT"]
    assert json.loads(entrypoint) == ["twistd", "--nodaemon", "--pidfile=", "responder"]
    assert json.loads(values["CMD"][0]) == ["--port", "tcp:1984"]


def _copyBuildContext(target: Path) -> None:
    """
    Copy what the build stage's COPY lines copy, less what .dockerignore
    leaves out.
    """
    ignore = shutil.ignore_patterns("__pycache__", "dropin.cache", "*.egg-info")
    for name, value in instructions():
        if name == "FROM" and not value.endswith("AS build"):
            break
        if name != "COPY" or value.startswith("--from"):
            continue
        *sources, destination = value.split()
        for source in sources:
            path = REPO / source
            if path.is_dir():
                shutil.copytree(path, target / destination, ignore=ignore)
            else:
                shutil.copy(path, target / Path(destination) / source)


def _freeOr1984() -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 1984))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(*argv: str | Path) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=600)


@pytest.fixture
def publicTemporary() -> Iterator[Path]:
    """
    A temporary directory that a non-root user may read.
    """
    path = Path(tempfile.mkdtemp(prefix="responder-image-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_image_commands(publicTemporary: Path) -> None:
    """
    The Containerfile's commands, in a fresh virtual environment: the wheel
    built from what the build stage copies, installed with its
    dependencies, the plugin cache written; then its ENTRYPOINT, as a
    non-root user, listens on 1984 (another free port if 1984 is taken),
    answers, and stops cleanly on SIGTERM.
    """
    context, wheels, venv = (publicTemporary / name for name in ("src", "w", "v"))
    context.mkdir()
    _copyBuildContext(context)
    pip = [sys.executable, "-m", "pip"]
    _run(*pip, "wheel", "--no-cache-dir", "--no-deps", "--wheel-dir", wheels, context)
    [wheel] = wheels.glob("*.whl")
    _run(sys.executable, "-m", "venv", venv)
    _run(venv / "bin/pip", "install", "--no-cache-dir", wheel)
    _run(
        venv / "bin/python",
        "-c",
        "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))",
    )
    final = dict(finalStage())
    port = _freeOr1984()
    argv = [
        *json.loads(final["ENTRYPOINT"]),
        "--port",
        f"tcp:{port}:interface=127.0.0.1",
    ]
    if os.getuid() == 0:
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        argv = nobody + argv
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    # In /: twistd puts its working directory on sys.path, and the
    # checkout's own responder must not be the one that runs.
    with runningServer(argv, env=env, cwd="/") as server:
        [listening] = server.listeningPorts()
        assert listening == port
        status = Path(f"/proc/{server.pid}/status").read_text()
        uid = re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)
        assert uid is not None and uid.group(1) != "0"
        print(f"\nthe image's ENTRYPOINT listens on {port} as uid {uid.group(1)}")
        assert request(port, b"from the image\0") == RESPONSE
        assert server.stop() == 128 + signal.SIGTERM
    output = server.output()
    assert "Server Shut Down." in output
    assert "Traceback" not in output and "Unable to write" not in output
    assert not (Path("/") / "twistd.pid").exists()


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BIN / "kubernetes-validate", "-k", KUBERNETES, "--strict", path],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_kubernetes_manifests_validate() -> None:
    """
    Every resource passes kubernetes-validate --strict against the stated
    Kubernetes version's schemas.
    """
    result = _validate(MANIFESTS)
    print(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.findall(r"passed for resource (\S+)", result.stdout + result.stderr)
    assert sorted(passed) == [
        "deployment/responder",
        "horizontalpodautoscaler/responder",
        "poddisruptionbudget/responder",
        "service/responder",
    ]


def test_kubernetes_validation_can_fail(tmp_path: Path) -> None:
    """
    The validation does catch a mistake (a misspelt field).
    """
    broken = tmp_path / "broken.yaml"
    broken.write_text(MANIFESTS.read_text().replace("maxSurge:", "maxSurg:"))
    assert _validate(broken).returncode != 0


def _deployment() -> dict[str, Any]:
    [deployment] = [
        document
        for document in yaml.safe_load_all(MANIFESTS.read_text())
        if document["kind"] == "Deployment"
    ]
    return dict(deployment)


def test_kubernetes_numbers() -> None:
    """
    The grace period covers the preStop wait and the drain timeout; both
    probes are TCP on the serving port; the container runs as non-root
    with a read-only root file system.
    """
    pod = _deployment()["spec"]["template"]["spec"]
    [container] = pod["containers"]
    wait = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    [drain] = [
        float(arg.split("=", 1)[1])
        for arg in container["args"]
        if arg.startswith("--drain-timeout=")
    ]
    assert pod["terminationGracePeriodSeconds"] > wait + drain
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["tcpSocket"]["port"] == "responder"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert _deployment()["spec"]["replicas"] == 3


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_haproxy_configuration_is_valid() -> None:
    env = {
        **os.environ,
        "FRONTEND": "127.0.0.1:1984",
        "RESPONDER_1": "127.0.0.1:1",
        "RESPONDER_2": "127.0.0.1:2",
        "RESPONDER_3": "127.0.0.1:3",
    }
    result = subprocess.run(
        ["haproxy", "-c", "-f", HAPROXY_CFG],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
