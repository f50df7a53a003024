"""
L{escapeRequest}: any bytes in, one printable and unambiguous line out.
"""

from twisted.trial.unittest import SynchronousTestCase

from responder import escapeRequest


class EscapeTests(SynchronousTestCase):
    def test_plain_ascii_unchanged(self) -> None:
        self.assertEqual(escapeRequest(b"GET /health"), "GET /health")

    def test_named_controls(self) -> None:
        self.assertEqual(escapeRequest(b"a\r\nb\tc"), "a\\r\\nb\\tc")

    def test_other_c0_controls_and_del(self) -> None:
        self.assertEqual(escapeRequest(b"\x00\x07\x1b\x7f"), "\\x00\\x07\\x1b\\x7f")

    def test_backslash_doubled(self) -> None:
        """
        A literal backslash cannot pass for an escape.
        """
        self.assertEqual(escapeRequest(b"\\x1b"), "\\\\x1b")

    def test_invalid_utf8_bytes(self) -> None:
        self.assertEqual(escapeRequest(b"\xff\xc3("), "\\xff\\xc3(")

    def test_valid_utf8_readable(self) -> None:
        self.assertEqual(escapeRequest("naïve 日本".encode()), "naïve 日本")

    def test_unicode_controls(self) -> None:
        """
        C1 controls, line separators and bidi overrides are decoded
        characters, shown as C{\\uNNNN}, never as raw characters.
        """
        text = "\u0085\u2028\u2029\u202e\u2066".encode()
        self.assertEqual(escapeRequest(text), "\\u0085\\u2028\\u2029\\u202e\\u2066")

    def test_invisible_and_formatting_characters(self) -> None:
        """
        Zero-width characters, the byte order mark, the Arabic letter mark
        and no-break spaces are not printable either.
        """
        text = "a\u200bb\ufeffc\u061cd\u00a0e".encode()
        self.assertEqual(escapeRequest(text), "a\\u200bb\\ufeffc\\u061cd\\u00a0e")

    def test_astral_unprintable(self) -> None:
        self.assertEqual(escapeRequest("\U000e0001".encode()), "\\U000e0001")

    def test_every_byte_printable(self) -> None:
        """
        Whatever the bytes, the result is printable and on one line.
        """
        for value in range(256):
            for data in (bytes([value]), b"a" + bytes([value]) + b"\xe2\x80"):
                result = escapeRequest(data)
                self.assertTrue(result.isprintable(), (data, result))
