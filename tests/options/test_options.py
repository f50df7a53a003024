"""
From command line and environment to a configuration, and from a
configuration to listening endpoints, on a L{MemoryReactor}.
"""

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from ipaddress import ip_network
from pathlib import Path
from unittest.mock import patch

from twisted.application.service import IServiceCollection
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from responder import (
    ResponderConfig,
    ResponderService,
    configFromEnvironment,
    makeService,
)
from responder.tap import Options

from ..tls import writeCertificate
from ._support import Rejections, parse

TAC = Path(__file__).resolve().parents[2] / "tac" / "responder.tac"


class OptionTests(SynchronousTestCase):
    def test_defaults(self) -> None:
        """
        With no options: the seed's port and response, with a listen backlog
        that survives bursts.
        """
        self.assertEqual(parse(), ResponderConfig(endpoints=("tcp:1984:backlog=4096",)))

    def test_port_number(self) -> None:
        self.assertEqual(parse("--port", "2000").endpoints, ("tcp:2000:backlog=4096",))

    def test_endpoint_forms(self) -> None:
        """
        Each endpoint type is accepted; those with a listen queue get the
        backlog unless they set their own.
        """
        cases = {
            "tcp:0:interface=127.0.0.1": "tcp:0:interface=127.0.0.1:backlog=4096",
            "tcp6:0": "tcp6:0:backlog=4096",
            "unix:/tmp/r.sock": "unix:/tmp/r.sock:backlog=4096",
            "haproxy:tcp:0": "haproxy:tcp:0:backlog=4096",
            "tcp:0:backlog=7": "tcp:0:backlog=7",
        }
        for given, expected in cases.items():
            self.assertEqual(parse("--port", given).endpoints, (expected,), given)

    def test_ssl(self) -> None:
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        key, cert = writeCertificate(Path(directory))
        [endpoint] = parse("--port", f"ssl:0:privateKey={key}:certKey={cert}").endpoints
        self.assertEqual(
            endpoint, f"ssl:0:privateKey={key}:certKey={cert}:backlog=4096"
        )

    def test_tls_without_its_extra(self) -> None:
        """
        Without pyOpenSSL, a TLS endpoint is refused with the extra to
        install.
        """
        with patch.dict(sys.modules, {"OpenSSL": None}):
            for description in ("ssl:0", f"tls:{tempfile.gettempdir()}:port=0"):
                with self.assertRaises(SystemExit) as caught:
                    parse("--port", description)
                self.assertIn(
                    "pip install 'txresponder[tls]'", str(caught.exception.code)
                )

    def test_listen_repeated(self) -> None:
        """
        As in C{twistd web}: C{--port} and every C{--listen} are served.
        """
        config = parse("--port", "1", "--listen", "tcp6:2", "--listen", "unix:/tmp/x")
        self.assertEqual(
            config.endpoints,
            ("tcp:1:backlog=4096", "tcp6:2:backlog=4096", "unix:/tmp/x:backlog=4096"),
        )

    def test_listen_alone_replaces_default(self) -> None:
        self.assertEqual(parse("--listen", "3").endpoints, ("tcp:3:backlog=4096",))

    def test_every_option(self) -> None:
        config = parse(
            "--response", "pong ✓",
            "--max-request", "64",
            "--timeout", "2.5",
            "--max-connections", "100",
            "--max-per-ip", "5",
            "--busy-response", "busy",
            "--allow", "10.0.0.0/8",
            "--allow", "::1",
            "--deny", "10.9.0.0/16",
            "--backlog", "128",
            "--drain-timeout", "3",
            "--quiet",
            "--keep-alive",
            "--delimiter", "newline",
            "--workers", "2",
            "--request-log", "stdout",
            "--log-format", "json",
        )  # fmt: skip
        self.assertEqual(
            config,
            ResponderConfig(
                endpoints=("tcp:1984:backlog=128",),
                response="pong ✓".encode(),
                maxRequest=64,
                timeout=2.5,
                maxConnections=100,
                maxPerIP=5,
                busyResponse=b"busy",
                allow=(ip_network("10.0.0.0/8"), ip_network("::1/128")),
                deny=(ip_network("10.9.0.0/16"),),
                backlog=128,
                drainTimeout=3.0,
                quiet=True,
                keepAlive=True,
                delimiter=b"\n",
                workers=2,
                requestLog="stdout",
                logFormat="json",
            ),
        )

    def test_help_shows_every_option_with_default(self) -> None:
        text = str(Options())
        for option in (
            "--port", "--listen", "--response", "--max-request", "--timeout",
            "--max-connections", "--max-per-ip", "--busy-response", "--allow",
            "--deny", "--backlog", "--drain-timeout", "--quiet", "--keep-alive",
            "--delimiter", "--workers", "--request-log", "--log-format",
        ):  # fmt: skip
            self.assertIn(option, text)
        for default in ("tcp:1984", "This is the response", "1024", "30.0", "4096"):
            self.assertIn(f"[default: {default}]", text)


class BadOptionTests(Rejections):
    """
    Bad input exits with one line that names the bad value.
    """

    def test_bad_values(self) -> None:
        self.assertRejected(["--port", "99999"], "99999", "out of range")
        self.assertRejected(["--port", "tcp:abc"], "tcp:abc")
        self.assertRejected(["--port", "bogus:1"], "bogus:1", "Unknown endpoint type")
        self.assertRejected(["--listen", "tcp:1:nonsense=1"], "tcp:1:nonsense=1")
        self.assertRejected(["--port", "ssl:0:privateKey=/nonexistent"], "/nonexistent")
        self.assertRejected(["--port", "systemd:domain=INET:index=0"], "systemd")
        self.assertRejected(["--timeout", "-1"], "--timeout", "'-1'")
        self.assertRejected(["--timeout", "inf"], "--timeout", "'inf'")
        self.assertRejected(["--max-request", "0"], "--max-request", "'0'")
        self.assertRejected(["--max-per-ip", "x"], "--max-per-ip", "'x'")
        self.assertRejected(["--allow", "10.0.0.0/33"], "--allow: '10.0.0.0/33'")
        self.assertRejected(["--deny", "example.com"], "--deny: 'example.com'")
        self.assertRejected(["--response", "\udcff"], "--response:", "not valid UTF-8")

    def test_unknown_option(self) -> None:
        self.assertRejected(["--bogus"], "--bogus")

    def test_tls_needs_a_pem_directory(self) -> None:
        """
        C{tls:1984} reads as certificates from a folder named 1984, served
        on port 443 of every interface; Twisted accepts it even without
        such a folder.  responder refuses it, and takes a real folder.
        """
        self.assertRejected(
            ["--port", "tls:1984"], "--port: bad endpoint 'tls:1984'", "'1984'"
        )
        self.assertRejected(["--listen", "haproxy:tls:1984"], "'1984'")
        # Twisted finds plugin endpoint types whatever their case.
        self.assertRejected(["--port", "TLS:1984"], "'1984'")
        self.assertRejected(["--port", "HAPROXY:tls:1984"], "'1984'")
        self.assertRejected(["--port", "tls:path=/nonexistent"], "'/nonexistent'")
        # Escaped "=" and ":" belong to the path.
        scratch = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, scratch)
        escaped = os.path.join(scratch, "a=b:c")
        os.makedirs(escaped)
        described = escaped.replace("=", "\\=").replace(":", "\\:")
        self.assertEqual(
            parse("--port", f"tls:{described}:port=0").endpoints,
            (f"tls:{described}:port=0:backlog=4096",),
        )
        folder = os.path.join(scratch, "pem")
        os.mkdir(folder)
        config = parse("--port", f"tls:{folder}:port=0:interface=127.0.0.1")
        self.assertEqual(
            config.endpoints,
            (f"tls:{folder}:port=0:interface=127.0.0.1:backlog=4096",),
        )


class EnvironmentTests(SynchronousTestCase):
    """
    The tac file's configuration: C{RESPONDER_*} variables, checked by the
    same parser as the options.
    """

    def test_empty(self) -> None:
        self.assertEqual(configFromEnvironment({"HOME": "/root"}), parse())

    def test_variables(self) -> None:
        config = configFromEnvironment(
            {
                "RESPONDER_PORT": "2000",
                "RESPONDER_LISTEN": "tcp6:2001, unix:/tmp/r",
                "RESPONDER_RESPONSE": "hi",
                "RESPONDER_MAX_REQUEST": "10",
                "RESPONDER_ALLOW": "10.0.0.0/8 ::1",
                "RESPONDER_QUIET": "yes",
            }
        )
        expected = parse(
            "--port", "2000",
            "--listen", "tcp6:2001",
            "--listen", "unix:/tmp/r",
            "--response", "hi",
            "--max-request", "10",
            "--allow", "10.0.0.0/8",
            "--allow", "::1",
            "--quiet",
        )  # fmt: skip
        self.assertEqual(config, expected)

    def test_false_flag(self) -> None:
        self.assertFalse(configFromEnvironment({"RESPONDER_QUIET": "0"}).quiet)

    def test_bad_values(self) -> None:
        for environ, expected in [
            ({"RESPONDER_PORT": "nope"}, "nope"),
            ({"RESPONDER_TIMEOUT": "soon"}, "soon"),
            ({"RESPONDER_QUIET": "maybe"}, "RESPONDER_QUIET"),
            ({"RESPONDER_PROT": "1984"}, "RESPONDER_PROT"),
        ]:
            with self.assertRaises(SystemExit) as caught:
                configFromEnvironment(environ)
            self.assertIn(expected, str(caught.exception.code))

    def test_flag_spellings(self) -> None:
        """
        A bad flag's message lists the spellings, and each one it lists
        works.
        """
        with self.assertRaises(SystemExit) as caught:
            configFromEnvironment({"RESPONDER_QUIET": "maybe"})
        message = str(caught.exception.code)
        self.assertEqual(
            message,
            "responder: RESPONDER_QUIET='maybe' is not one of"
            " 1/0, true/false, yes/no, on/off",
        )
        pairs = message.rsplit("is not one of ", 1)[1].split(", ")
        for on, off in (pair.split("/") for pair in pairs):
            self.assertTrue(configFromEnvironment({"RESPONDER_QUIET": on}).quiet)
            self.assertFalse(configFromEnvironment({"RESPONDER_QUIET": off}).quiet)
        self.assertFalse(configFromEnvironment({"RESPONDER_QUIET": ""}).quiet)

    def test_unknown_variable(self) -> None:
        """
        An unknown variable is an error that suggests the closest known one,
        if any.
        """
        cases = {
            "RESPONDER_TIMOUT": "responder: unknown environment variable "
            "RESPONDER_TIMOUT (did you mean RESPONDER_TIMEOUT?)",
            "RESPONDER_XYZZY": "responder: unknown environment variable "
            "RESPONDER_XYZZY",
        }
        for variable, message in cases.items():
            with self.assertRaises(SystemExit) as caught:
                configFromEnvironment({variable: "1"})
            self.assertEqual(caught.exception.code, message)

    def test_errors_name_the_variable(self) -> None:
        with self.assertRaises(SystemExit) as caught:
            configFromEnvironment({"RESPONDER_TIMEOUT": "soon"})
        self.assertEqual(
            caught.exception.code,
            "responder: RESPONDER_TIMEOUT: 'soon' is not a number of seconds",
        )


class ServiceTests(SynchronousTestCase):
    """
    L{makeService} listens on every endpoint, with the configured backlog.
    """

    def test_endpoints(self) -> None:
        reactor = MemoryReactorClock()
        config = parse(
            "--port", "tcp:1984:interface=127.0.0.1",
            "--listen", "tcp6:1985",
            "--listen", "unix:/tmp/responder-test.sock",
            "--listen", "haproxy:tcp:1986",
            "--backlog", "77",
        )  # fmt: skip
        service = makeService(config, reactor)
        self.assertIsInstance(service, ResponderService)
        self.assertEqual(len(list(IServiceCollection(service))), 4)
        service.privilegedStartService()
        service.startService()
        self.assertEqual(
            [
                (port, backlog, interface)
                for port, _, backlog, interface in reactor.tcpServers
            ],
            [(1984, 77, "127.0.0.1"), (1985, 77, "::"), (1986, 77, "")],
        )
        [(path, factory, backlog, _, _)] = reactor.unixServers
        self.assertEqual((path, backlog), ("/tmp/responder-test.sock", 77))
        self.assertIs(factory, service.factory)
        # haproxy: wraps the same factory.
        self.assertIs(reactor.tcpServers[2][1].wrappedFactory, service.factory)  # type: ignore[attr-defined]

    def test_stop_without_connections(self) -> None:
        reactor = MemoryReactorClock()
        service = makeService(parse("--port", "0"), reactor)
        service.startService()
        self.successResultOf(service.stopService())

    def test_tac(self) -> None:
        """
        The tac file builds its service with L{makeService} from the
        environment.
        """
        self.patch(
            os, "environ", {"RESPONDER_PORT": "tcp:0", "RESPONDER_RESPONSE": "tac"}
        )
        namespace: dict[str, object] = {}
        exec(compile(TAC.read_text(), str(TAC), "exec"), namespace)
        [service] = list(IServiceCollection(namespace["application"]))
        self.assertIsInstance(service, ResponderService)
        self.assertEqual(
            service.factory.config, parse("--port", "tcp:0", "--response", "tac")
        )


class RequestLogChoiceTests(SynchronousTestCase):
    """
    C{--request-log auto} writes request lines straight to stdout only when
    the runner's log is text on stdout anyway.
    """

    def resolve(self, runner: Mapping[str, object] | None, choice: str = "auto") -> str:
        options = Options()
        if runner is not None:
            options.parent = runner  # type: ignore[assignment]
        options.parseOptions(["--request-log", choice])
        return str(options.config.requestLog)

    def test_no_runner(self) -> None:
        """
        A tac file has no runner options to ask: events, to be safe.
        """
        self.assertEqual(self.resolve(None), "twisted")

    def test_twistd(self) -> None:
        twistd = {"nodaemon": True, "logfile": None, "syslog": False, "logger": None}
        self.assertEqual(self.resolve(twistd), "stdout")
        self.assertEqual(self.resolve({**twistd, "logfile": "-"}), "stdout")
        self.assertEqual(self.resolve({**twistd, "logfile": "r.log"}), "twisted")
        self.assertEqual(self.resolve({**twistd, "syslog": True}), "twisted")
        self.assertEqual(self.resolve({**twistd, "nodaemon": False}), "twisted")

    def test_twist(self) -> None:
        import sys

        from twisted.logger import jsonFileLogObserver, textFileLogObserver

        text = {"logFile": sys.stdout, "fileLogObserverFactory": textFileLogObserver}
        self.assertEqual(self.resolve(text), "stdout")
        json = {**text, "fileLogObserverFactory": jsonFileLogObserver}
        self.assertEqual(self.resolve(json), "twisted")
        self.assertEqual(self.resolve({**text, "logFile": sys.stderr}), "twisted")

    def test_twistd_stdout_never_blocks(self) -> None:
        """
        twistd logging text to stdout gets responder's observer, which never
        blocks; a log file, syslog or an observer of the user's own stays.
        """
        twistd = {"nodaemon": True, "logfile": None, "syslog": False, "logger": None}
        self.resolve(twistd)
        self.assertEqual(twistd["logger"], "responder.logs.stdoutTextObserver")
        self.assertEqual(self.resolve(twistd), "stdout")
        for other in ({"logfile": "r.log"}, {"syslog": True}, {"logger": "my.obs"}):
            runner = {**twistd, "logger": None, **other}
            self.resolve(runner)
            self.assertEqual(runner["logger"], other.get("logger"))

    def test_explicit(self) -> None:
        self.assertEqual(self.resolve(None, "stdout"), "stdout")
        twistd = {"nodaemon": True, "logfile": None, "syslog": False, "logger": None}
        self.assertEqual(self.resolve(twistd, "twisted"), "twisted")

    def test_bad_choice(self) -> None:
        with self.assertRaises(SystemExit) as caught:
            self.resolve(None, "syslog")
        self.assertIn("--request-log: 'syslog'", str(caught.exception.code))


class WorkerSocketsOptionTests(SynchronousTestCase):
    """
    C{--worker-sockets}: a socket per worker (the default) or one shared.
    """

    def test_values(self) -> None:
        self.assertEqual(parse().workerSockets, "reuseport")
        self.assertEqual(parse("--worker-sockets", "shared").workerSockets, "shared")
        config = configFromEnvironment({"RESPONDER_WORKER_SOCKETS": "shared"})
        self.assertEqual(config.workerSockets, "shared")

    def test_bad(self) -> None:
        with self.assertRaises(SystemExit) as caught:
            parse("--worker-sockets", "both")
        self.assertEqual(
            caught.exception.code,
            "responder: --worker-sockets: 'both' is not one of reuseport, shared",
        )


class AgentAndWorkerTimeoutOptionTests(SynchronousTestCase):
    """
    C{--agent}, C{--agent-drain} and C{--worker-timeout}.
    """

    def test_defaults(self) -> None:
        config = parse()
        self.assertEqual(
            (config.agent, config.agentDrain, config.workerTimeout), (None, 3.0, 10.0)
        )

    def test_values(self) -> None:
        config = parse(
            "--agent", "1985", "--agent-drain", "1.5", "--worker-timeout", "4"
        )  # fmt: skip
        self.assertEqual(
            (config.agent, config.agentDrain, config.workerTimeout),
            ("tcp:1985:backlog=4096", 1.5, 4.0),
        )

    def test_bad(self) -> None:
        for argv, expected in [
            (["--agent", "bogus:1"], "bogus:1"),
            (["--agent-drain", "-1"], "--agent-drain"),
            (["--worker-timeout", "0"], "--worker-timeout"),
        ]:
            with self.assertRaises(SystemExit) as caught:
                parse(*argv)
            message = str(caught.exception.code)
            self.assertTrue(message.startswith("responder: "), message)
            self.assertIn(expected, message)

    def test_environment(self) -> None:
        config = configFromEnvironment(
            {"RESPONDER_AGENT": "tcp:1985", "RESPONDER_WORKER_TIMEOUT": "5"}
        )
        self.assertEqual(
            (config.agent, config.workerTimeout), ("tcp:1985:backlog=4096", 5.0)
        )
