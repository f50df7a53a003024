"""
Options at the server's edges: trusted PROXY-protocol proxies, rules files
that may read outside their folder, and where a bare metrics port listens.
"""

from ipaddress import ip_network

from twisted.trial.unittest import SynchronousTestCase

from responder import configFromEnvironment

from ._support import Rejections, parse


class TrustedProxyOptionTests(SynchronousTestCase):
    def test_repeated(self) -> None:
        config = parse(
            "--port", "haproxy:tcp:1984",
            "--trusted-proxy", "10.0.0.0/8",
            "--trusted-proxy", "::1",
        )  # fmt: skip
        self.assertEqual(
            config.trustedProxies, (ip_network("10.0.0.0/8"), ip_network("::1/128"))
        )
        self.assertEqual(parse("--port", "haproxy:tcp:1984").trustedProxies, ())

    def test_environment(self) -> None:
        config = configFromEnvironment(
            {
                "RESPONDER_PORT": "haproxy:tcp:1984",
                "RESPONDER_TRUSTED_PROXY": "10.0.0.0/8, 127.0.0.1",
            }
        )
        self.assertEqual(
            config.trustedProxies,
            (ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32")),
        )


class RulesOutsideFolderOptionTests(SynchronousTestCase):
    def test_flag(self) -> None:
        self.assertFalse(parse().rulesOutsideFolder)
        self.assertTrue(parse("--rules-outside-folder").rulesOutsideFolder)
        self.assertTrue(
            configFromEnvironment(
                {"RESPONDER_RULES_OUTSIDE_FOLDER": "yes"}
            ).rulesOutsideFolder
        )


class MetricsOptionTests(SynchronousTestCase):
    def test_bare_port_is_loopback(self) -> None:
        """
        A bare port number serves metrics on 127.0.0.1 alone; a description
        listens where it says.
        """
        self.assertEqual(
            parse("--metrics", "9100").metrics,
            "tcp:9100:interface=127.0.0.1:backlog=4096",
        )
        self.assertEqual(
            parse("--metrics", "tcp:9100").metrics, "tcp:9100:backlog=4096"
        )


class BadEdgeOptionTests(Rejections):
    def test_bad_values(self) -> None:
        self.assertRejected(
            ["--port", "haproxy:tcp:1", "--trusted-proxy", "10.0.0.0/33"],
            "--trusted-proxy: '10.0.0.0/33'",
        )
        self.assertRejected(
            ["--trusted-proxy", "10.0.0.0/8"], "--trusted-proxy:", "haproxy:"
        )
        self.assertRejected(["--metrics", "99999"], "--metrics:", "out of range")
