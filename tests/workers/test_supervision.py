"""
Workers a supervisor can trust: a stuck worker (no heartbeat) is killed and
replaced, a worker that fails before it is ready is restarted with a
backoff and in the end makes the pool give up, a SIGHUP never reaches a
worker before it can handle it; on a fake reactor, then as processes.
"""

import os
import signal
import time
from pathlib import Path

from twisted.internet.error import ProcessTerminated
from twisted.logger import formatEvent
from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig
from responder.workers import (
    ALIVE,
    BOOT_FAILURES,
    BOOT_TIMEOUT,
    READY,
    Backoff,
    WorkerSlot,
)

from .._server import request, runningServer, twistdCommand
from ..e2e.test_twistd import RESPONSE, assertCleanStop, scrape
from .test_workers import LOOPBACK, alive, fakePool, startedWorkers


class BackoffTests(SynchronousTestCase):
    def test_doubles_then_gives_up(self) -> None:
        backoff = Backoff(1.0, 4)
        self.assertEqual([backoff.failed() for _ in range(4)], [1.0, 2.0, 4.0, None])
        backoff.succeeded()
        self.assertEqual(backoff.failed(), 1.0)


class SupervisionTests(SynchronousTestCase):
    """
    One worker slot on a fake reactor, with fake processes.
    """

    def setUp(self) -> None:
        config = ResponderConfig(workers=2, workerTimeout=3.0, requestLog="stdout")
        self.reactor, self.pool, self.events = fakePool(config)
        self.slot = WorkerSlot(self.pool, 1)
        self.pool.workers = [self.slot]

    def logged(self) -> list[str]:
        return [formatEvent(event) for event in self.events]

    def test_heartbeat_keeps_it(self) -> None:
        """
        A worker that says it is alive more often than the timeout is left
        alone.
        """
        self.slot.start()
        self.slot.heard(READY)
        for _ in range(60):
            self.reactor.advance(1.0)
            self.slot.heard(ALIVE)
        self.assertEqual(self.reactor.processes[0].signals, [])

    def test_stuck(self) -> None:
        """
        No heartbeat for the worker timeout: killed (SIGKILL reaches a
        stopped process too), and replaced with the reason logged.
        """
        self.slot.start()
        self.slot.heard(READY)
        self.reactor.advance(2.9)
        process = self.reactor.processes[0]
        self.assertEqual(process.signals, [])
        self.reactor.advance(0.1)
        self.assertEqual(process.signals, ["KILL"])
        self.assertIn(
            "worker 1 (pid 1000) is stuck: no heartbeat for 3 s; killing it",
            self.logged(),
        )
        process.end(ProcessTerminated(signal=signal.SIGKILL))
        self.reactor.advance(0)
        self.assertEqual(len(self.reactor.processes), 2)
        self.assertIn(
            "worker 1 (pid 1000) was killed by SIGKILL after sending no heartbeat "
            "for 3 s; restarting it",
            self.logged(),
        )

    def test_slow_start_allowed(self) -> None:
        """
        Before it is ready a worker gets the longer boot timeout.
        """
        self.slot.start()
        self.reactor.advance(BOOT_TIMEOUT - 0.1)
        self.assertEqual(self.reactor.processes[0].signals, [])
        self.reactor.advance(0.1)
        self.assertEqual(self.reactor.processes[0].signals, ["KILL"])

    def test_gives_up(self) -> None:
        """
        Each failure before ready doubles the wait; the last stops the pool
        with one line.
        """
        self.slot.start()
        for expected in [1.0, 2.0, 4.0]:
            self.reactor.processes[-1].end(ProcessTerminated(exitCode=1))
            count = len(self.reactor.processes)
            self.reactor.advance(expected - 0.01)
            self.assertEqual(len(self.reactor.processes), count)
            self.reactor.advance(0.01)
            self.assertEqual(len(self.reactor.processes), count + 1)
        self.assertFalse(self.reactor.hasStopped)
        self.reactor.processes[-1].end(ProcessTerminated(exitCode=1))
        self.assertTrue(self.reactor.hasStopped)
        reason = (
            "worker 1 (pid 1003) exited with status 1 before it was ready, "
            f"{BOOT_FAILURES} times in a row; giving up"
        )
        self.assertEqual(self.pool.failed, reason)
        self.assertEqual(self.logged()[-1], f"responder: {reason}")
        self.assertIn("shutdown", self.reactor.triggers["after"])
        self.reactor.advance(60)
        self.assertEqual(len(self.reactor.processes), 4)

    def test_ready_resets_backoff(self) -> None:
        self.slot.start()
        self.reactor.processes[-1].end(ProcessTerminated(exitCode=1))
        self.reactor.advance(1.0)
        self.slot.heard(READY)
        self.reactor.processes[-1].end(ProcessTerminated(exitCode=1))
        self.assertIn(
            "worker 1 (pid 1001) exited with status 1; restarting it", self.logged()
        )

    def test_hangup_waits_for_ready(self) -> None:
        """
        A SIGHUP to the parent reaches a worker only once it is ready (its
        handler installed); one that came before is passed on then, once.
        """
        self.slot.start()
        self.pool.reload()
        self.pool.reload()
        process = self.reactor.processes[0]
        self.assertEqual(process.signals, [])
        self.slot.heard(READY)
        self.assertEqual(process.signals, ["HUP"])
        self.slot.heard(READY)
        self.pool.reload()
        self.assertEqual(process.signals, ["HUP", "HUP"])


# Processes on loopback.


def test_stuck_worker_is_replaced() -> None:
    """
    A worker stopped with SIGSTOP (its reactor can no longer run) is found
    by its missing heartbeat, killed and replaced; service goes on.
    """
    argv = twistdCommand("--port", LOOPBACK, "--workers", "2", "--worker-timeout", "2")
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        pids = startedWorkers(server)
        os.kill(pids[1], signal.SIGSTOP)
        server.waitFor(
            rf"worker 1 \(pid {pids[1]}\) is stuck: no heartbeat for 2 s; killing it"
        )
        server.waitFor(
            rf"worker 1 \(pid {pids[1]}\) was killed by SIGKILL after sending no "
            r"heartbeat for 2 s; restarting it"
        )
        restarted = startedWorkers(server, count=3)
        assert restarted[1] != pids[1]
        assert not alive(pids[1])
        assert [request(port, b"after\0") for _ in range(20)] == [RESPONSE] * 20
        assertCleanStop(server)


def test_worker_failing_at_boot_stops_the_pool(tmp_path: Path) -> None:
    """
    A rules file that went bad after start: a replaced worker cannot load
    it.  Its restarts back off, then the pool stops with one clear line and
    status 1, and no worker is left.
    """
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nequals = "PING"\nresponse = "ONE"\n')
    argv = twistdCommand("--port", LOOPBACK, "--workers", "2", "--rules", str(rules))
    with runningServer(argv) as server:
        pids = startedWorkers(server)
        rules.write_text("[[rule]]\nequals = \n")
        os.kill(pids[1], signal.SIGKILL)
        server.waitFor(
            r"worker 1 \(pid \d+\) exited with status 1 before it was "
            r"ready \(1 in a row\); restarting it in 1 s",
            timeout=30,
        )
        server.waitFor(
            r"before it was ready \(3 in a row\); restarting it in 4 s", timeout=30
        )
        assert server.process.wait(60) == 1
        [line] = server.waitFor(r"giving up")
        assert line.endswith(
            f"before it was ready, {BOOT_FAILURES} times in a row; giving up"
        )
        assert not alive(pids[2])


def test_sighup_right_after_restart(tmp_path: Path) -> None:
    """
    SIGHUPs to the parent every 50 ms while a worker restarts: the new
    worker is never killed by one, and it serves the reloaded rules.
    """
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nequals = "PING"\nresponse = "ONE"\n')
    argv = twistdCommand("--port", LOOPBACK, "--workers", "2", "--rules", str(rules))
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        pids = startedWorkers(server)
        rules.write_text('[[rule]]\nequals = "PING"\nresponse = "TWO"\n')
        os.kill(pids[1], signal.SIGKILL)
        server.waitFor(rf"worker 1 \(pid {pids[1]}\) was killed by SIGKILL")
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            server.process.send_signal(signal.SIGHUP)
            time.sleep(0.05)
        restarted = startedWorkers(server, count=3)
        assert "killed by SIGHUP" not in server.output()
        assert alive(restarted[1])
        for _ in range(10):
            assert request(port, b"PING\0") == b"TWO\0"
        assertCleanStop(server)


def test_metrics_keep_counts_of_killed_workers() -> None:
    """
    10 rounds of 100 requests, a worker killed with SIGKILL after each:
    the parent's metrics count all 1 000, at once, because workers count
    in memory the parent reads, not in files written once a second.
    """
    argv = twistdCommand(
        "--port", LOOPBACK, "--metrics", LOOPBACK, "--quiet", "--workers", "2"
    )  # fmt: skip
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        [line] = server.waitFor(r"listening on 127\.0\.0\.1:\d+ for metrics")
        metrics = int(line.rsplit(":", 1)[1].split()[0])
        for round in range(10):
            pids = startedWorkers(server, count=2 + round)
            for _ in range(100):
                assert request(port, b"count me\0") == RESPONSE
            os.kill(pids[1 + round % 2], signal.SIGKILL)
            server.waitFor(rf"\(pid {pids[1 + round % 2]}\) was killed by SIGKILL")
        page = scrape(metrics)
        assert "\nresponder_requests_total 1000.0\n" in page, page
        assert '\nresponder_responses_total{outcome="answered"} 1000.0\n' in page
        assertCleanStop(server)
