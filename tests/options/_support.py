"""
What the option tests share.
"""

from twisted.trial.unittest import SynchronousTestCase

from responder import ResponderConfig
from responder.tap import Options


def parse(*argv: str) -> ResponderConfig:
    options = Options()
    options.parseOptions(list(argv))
    config: ResponderConfig = options.config
    return config


class Rejections(SynchronousTestCase):
    """
    Bad input exits with one line that names the bad value.
    """

    def assertRejected(self, argv: list[str], *expected: str) -> None:
        with self.assertRaises(SystemExit) as caught:
            parse(*argv)
        message = str(caught.exception.code)
        self.assertTrue(message.startswith("responder: "), message)
        self.assertNotIn("\n", message)
        for text in expected:
            self.assertIn(text, message)
