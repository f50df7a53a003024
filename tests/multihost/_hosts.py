"""
Hosts for the multi-host test: Linux network namespaces joined by veth
pairs, each with addresses of its own, and the processes run in them.

The load balancer's namespace has one link to each other host (a /24 each,
in 10.214.0.0/16), so no traffic is routed and none leaves the namespaces
this creates.  Names carry the test's process id, so that two runs at once
do not collide; L{Network.close} kills what it started and deletes every
namespace, whatever happened before.
"""

import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

#: The subnet of the link between the load balancer and host C{n} is
#: 10.214.n.0/24: the balancer is .1, the host .2.
SUBNET = "10.214.{}.{}"


def cannotMakeNamespaces() -> str | None:
    """
    Why network namespaces cannot be made here, or C{None} if they can.
    """
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    probe = f"rsp{os.getpid()}-probe"
    result = subprocess.run(
        ["ip", "netns", "add", probe], capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        return f"cannot make a network namespace: {result.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], timeout=30, check=False)
    return None


def ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, timeout=30)


class Network:
    """
    A load balancer host joined to C{hosts} other hosts.

    @ivar balancer: the balancer's namespace.
    @ivar hosts: each host's namespace, by number (1 and up).
    """

    def __init__(self, hosts: int) -> None:
        prefix = f"rsp{os.getpid()}"
        self.balancer = f"{prefix}-lb"
        self.hosts = {n: f"{prefix}-h{n}" for n in range(1, hosts + 1)}
        self.processes: list[subprocess.Popen[bytes]] = []
        self._made: list[str] = []
        try:
            for namespace in [self.balancer, *self.hosts.values()]:
                ip("netns", "add", namespace)
                self._made.append(namespace)
                ip("-n", namespace, "link", "set", "lo", "up")
            for n, namespace in self.hosts.items():
                link = f"to-h{n}"
                ip("-n", self.balancer, "link", "add", link, "type", "veth",
                   "peer", "name", "eth0", "netns", namespace)  # fmt: skip
                ip("-n", self.balancer, "addr", "add", f"{self.address(n, 1)}/24",
                   "dev", link)  # fmt: skip
                ip("-n", namespace, "addr", "add", f"{self.address(n)}/24",
                   "dev", "eth0")  # fmt: skip
                ip("-n", self.balancer, "link", "set", link, "up")
                ip("-n", namespace, "link", "set", "eth0", "up")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def address(host: int, end: int = 2) -> str:
        """
        Host C{host}'s address (C{end} 2), or the balancer's on its link.
        """
        return SUBNET.format(host, end)

    def setLink(self, host: int, up: bool) -> None:
        """
        Cut host C{host} off, or join it again, by its link's state.
        """
        ip("-n", self.hosts[host], "link", "set", "eth0", "up" if up else "down")

    def run(
        self,
        namespace: str,
        argv: Sequence[str],
        output: IO[bytes],
        env: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """
        Start C{argv} in C{namespace}, in a process group of its own, its
        output to C{output}.  C{ip netns exec} execs C{argv}, so the
        process is C{argv}'s own: signals reach it.
        """
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *argv],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=Path(__file__).resolve().parent.parent.parent,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def close(self) -> None:
        """
        Kill every process group started here, then delete the namespaces.
        """
        for process in self.processes:
            # The whole group: a pool's workers too, if their parent died.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(30)
        for namespace in self._made:
            subprocess.run(
                ["ip", "netns", "del", namespace], capture_output=True, timeout=30
            )
        self._made = []
