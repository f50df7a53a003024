"""
Rules files: parsing, strict checking with C{FILE:LINE: reason} errors, and
first-match-wins matching, with no network and no reactor.
"""

import math
import os
import shutil
import tempfile
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

import responder.rules._files
from responder.rules import Rule, Rules, RulesError, loadRules, parseRules

EXAMPLE = Path(__file__).resolve().parents[2] / "contrib" / "rules.example.toml"
SOURCE = "rules.toml"


def parse(text: str, folder: Path | None = None) -> Rules:
    return parseRules(text, SOURCE, folder or Path("."))


def rule(match: str, rest: str = 'response = "ok"') -> str:
    """
    The text of one C{[[rule]]} table.
    """
    return f"[[rule]]\n{match}\n{rest}\n"


def makeFolder(case: SynchronousTestCase) -> Path:
    """
    A temporary folder, removed after C{case}.
    """
    folder = tempfile.mkdtemp()
    case.addCleanup(shutil.rmtree, folder)
    return Path(folder)


class MatchTests(SynchronousTestCase):
    """
    Each match kind, and the order in which rules are tried.
    """

    def test_equals(self) -> None:
        """
        C{equals} matches the whole request, and nothing longer or shorter.
        """
        rules = parse(rule('equals = "PING"'))
        self.assertIsNotNone(rules.match(b"PING"))
        for request in (b"PING ", b"PIN", b"ping", b"xPING", b""):
            self.assertIsNone(rules.match(request), request)

    def test_equals_hex(self) -> None:
        rules = parse(rule('equals_hex = "00ff 10"'))
        self.assertEqual(rules.rules[0].pattern, b"\x00\xff\x10")
        self.assertIsNotNone(rules.match(b"\x00\xff\x10"))
        self.assertIsNone(rules.match(b"\x00\xff"))

    def test_prefix(self) -> None:
        rules = parse(rule('prefix = "GET "'))
        self.assertIsNotNone(rules.match(b"GET "))
        self.assertIsNotNone(rules.match(b"GET /health HTTP/1.0\r\n"))
        self.assertIsNone(rules.match(b"GE"))
        self.assertIsNone(rules.match(b" GET "))

    def test_prefix_hex(self) -> None:
        rules = parse(rule('prefix_hex = "16 03"'))
        self.assertIsNotNone(rules.match(b"\x16\x03\x01\x02"))
        self.assertIsNone(rules.match(b"\x16"))

    def test_empty_prefix_matches_everything(self) -> None:
        rules = parse(rule('prefix = ""'))
        for request in (b"", b"x", b"\xff\x00"):
            self.assertIsNotNone(rules.match(request), request)

    def test_empty_equals_matches_empty_request(self) -> None:
        rules = parse(rule('equals = ""'))
        self.assertIsNotNone(rules.match(b""))
        self.assertIsNone(rules.match(b"x"))

    def test_regex_is_searched(self) -> None:
        """
        A regular expression is found anywhere in the request, as
        C{re.search} does.
        """
        rules = parse(rule("regex = 'health'"))
        self.assertIsNotNone(rules.match(b"GET /health HTTP/1.0"))
        self.assertIsNone(rules.match(b"GET / HTTP/1.0"))

    def test_regex_anchored(self) -> None:
        r"""
        C{\A} and C{\Z} anchor a regular expression to the whole request.
        """
        rules = parse(rule(r"regex = '\A[0-9]+\Z'"))
        self.assertIsNotNone(rules.match(b"123"))
        self.assertIsNone(rules.match(b"123\n"))
        self.assertIsNone(rules.match(b"a123"))

    def test_regex_flags_and_byte_escapes(self) -> None:
        """
        Inline flags work, and C{\\xNN} escapes match raw bytes, including
        bytes that are not UTF-8.
        """
        rules = parse(rule(r"regex = '(?i)\Ahelo'") + rule(r"regex = '\xff\x00'"))
        self.assertEqual(rules.match(b"HeLo there"), rules.rules[0])
        self.assertEqual(rules.match(b"a\xff\x00b"), rules.rules[1])

    def test_unicode(self) -> None:
        """
        Text in match keys is UTF-8, so it matches UTF-8 requests, and
        regular expressions take non-ASCII text too.
        """
        rules = parse(rule('equals = "grüß"') + rule("regex = '日本'"))
        self.assertEqual(rules.rules[0].pattern, "grüß".encode())
        self.assertEqual(rules.match("grüß".encode()), rules.rules[0])
        self.assertIsNone(rules.match("grüß".encode("latin-1")))
        self.assertEqual(rules.match("in 日本 now".encode()), rules.rules[1])

    def test_first_match_wins(self) -> None:
        """
        Rules are tried in file order; the first that matches is the one.
        """
        rules = parse(
            rule('prefix = "GET"', 'response = "one"')
            + rule('equals = "GET /"', 'response = "two"')
            + rule("regex = '/'", 'response = "three"')
        )
        first, _, third = rules.rules
        self.assertIs(rules.match(b"GET /"), first)
        self.assertIs(rules.match(b"PUT /"), third)
        self.assertIsNone(rules.match(b"PUT"))

    def test_order_around_exact_rules(self) -> None:
        """
        Runs of exact rules are looked up together, and still keep their
        place: an earlier prefix rule wins over them, a later one does not,
        and of two equal patterns the first wins.
        """
        rules = parse(
            rule('equals = "a"', 'response = "1"')
            + rule('equals = "b"', 'response = "2"')
            + rule('equals = "a"', 'response = "3"')
            + rule('prefix = "c"', 'response = "4"')
            + rule('equals = "cc"', 'response = "5"')
            + rule('equals = "d"', 'response = "6"')
            + rule('prefix = "d"', 'response = "7"')
        )
        answers = {
            b"a": b"1\0",
            b"b": b"2\0",
            b"cc": b"4\0",
            b"d": b"6\0",
            b"dd": b"7\0",
        }
        for request, response in answers.items():
            found = rules.match(request)
            assert found is not None, request
            self.assertEqual(found.response, response, request)
        self.assertIsNone(rules.match(b"e"))

    def test_no_match(self) -> None:
        """
        A request no rule matches gets C{None}: the default response.
        """
        self.assertIsNone(parse(rule('prefix = "x"')).match(b"y"))

    def test_no_rules(self) -> None:
        """
        An empty file is valid: no greeting, and every request gets the
        default response.
        """
        rules = parse("")
        self.assertEqual(rules, Rules(source=SOURCE))
        self.assertIsNone(rules.greeting)
        self.assertIsNone(rules.match(b"anything"))

    def test_rule_matches(self) -> None:
        """
        L{Rule.matches} answers for one rule; rules can be built directly.
        """
        self.assertTrue(Rule("equals", b"a").matches(b"a"))
        self.assertFalse(Rule("equals", b"a").matches(b"ab"))
        self.assertTrue(Rule("prefix", b"a").matches(b"ab"))
        self.assertFalse(Rule("prefix", b"a").matches(b"ba"))
        self.assertTrue(Rule("regex", rb"b\Z").matches(b"ab"))
        self.assertFalse(Rule("regex", rb"\Ab").matches(b"ab"))

    def test_rules_built_directly(self) -> None:
        rules = Rules((Rule("prefix", b"x", response=b"y"),))
        found = rules.match(b"xx")
        assert found is not None
        self.assertEqual(found.response, b"y")

    def test_position_and_description(self) -> None:
        """
        Each rule knows its number and line, for log lines.
        """
        rules = parse("# comment\n\n" + rule('prefix = "a"') + rule('equals = "\\n"'))
        self.assertEqual([r.index for r in rules.rules], [1, 2])
        self.assertEqual([r.line for r in rules.rules], [3, 6])
        self.assertEqual(rules.rules[1].describe(), 'rule 2 (line 6, equals "\\n")')
        self.assertEqual(rules.source, SOURCE)


class ResponseTests(SynchronousTestCase):
    """
    Responses from text, hex or a file, with their terminators.
    """

    def response(self, text: str, folder: Path | None = None) -> bytes | None:
        rules = parse(text, folder)
        return rules.rules[-1].response

    def test_text_with_default_nul(self) -> None:
        """
        By default a response ends with one NUL, like the default response.
        """
        self.assertEqual(
            self.response(rule('prefix = "a"', 'response = "hi"')), b"hi\0"
        )

    def test_hex(self) -> None:
        self.assertEqual(
            self.response(rule('prefix = "a"', 'response_hex = "DE ad\\tbe ef"')),
            b"\xde\xad\xbe\xef\0",
        )

    def test_unicode_text(self) -> None:
        self.assertEqual(
            self.response(rule('prefix = "a"', 'response = "grüß ✓"')),
            "grüß ✓\0".encode(),
        )

    def test_empty(self) -> None:
        self.assertEqual(
            self.response(rule('prefix = "a"', 'response = ""\nterminator = ""')), b""
        )

    def test_multiline_text(self) -> None:
        text = rule('prefix = "a"', 'response = """\nline 1\\r\nline 2"""')
        self.assertEqual(self.response(text), b"line 1\r\nline 2\0")

    def test_custom_terminator(self) -> None:
        text = rule('prefix = "a"', 'response = "hi"\nterminator = "\\r\\n"')
        self.assertEqual(self.response(text), b"hi\r\n")

    def test_no_terminator(self) -> None:
        text = rule('prefix = "a"', 'response = "hi"\nterminator = ""')
        self.assertEqual(self.response(text), b"hi")

    def test_file_terminator(self) -> None:
        """
        The top-level C{terminator} is every rule's default; a rule's own
        wins.
        """
        rules = parse(
            'terminator = "\\n"\n'
            + rule('prefix = "a"', 'response = "one"')
            + rule('prefix = "b"', 'response = "two"\nterminator = "\\u0000"')
        )
        self.assertEqual([r.response for r in rules.rules], [b"one\n", b"two\0"])

    def test_file_relative_to_folder(self) -> None:
        """
        C{response_file} names a file relative to the rules file's folder,
        whose bytes are read as they are.
        """
        folder = makeFolder(self)
        (folder / "sub").mkdir()
        (folder / "sub" / "body.bin").write_bytes(b"\x00\xffdata\n")
        (folder / "rules.toml").write_text(
            rule('prefix = "a"', 'response_file = "sub/body.bin"')
        )
        rules = loadRules(folder / "rules.toml")
        self.assertEqual(rules.rules[0].response, b"\x00\xffdata\n\0")
        self.assertEqual(rules.source, str(folder / "rules.toml"))

    def test_file_absolute(self) -> None:
        folder = makeFolder(self)
        (folder / "body").write_bytes(b"body")
        text = rule('prefix = "a"', f"response_file = '{folder / 'body'}'")
        self.assertEqual(self.response(text, Path("/nonexistent")), b"body\0")

    def test_empty_file(self) -> None:
        folder = makeFolder(self)
        (folder / "empty").write_bytes(b"")
        text = rule('prefix = "a"', "response_file = 'empty'\nterminator = ''")
        self.assertEqual(self.response(text, folder), b"")

    def test_default_folder(self) -> None:
        """
        Without a folder, L{parseRules} looks next to C{source}.
        """
        folder = makeFolder(self)
        (folder / "body").write_bytes(b"x")
        rules = parseRules(
            rule('prefix = "a"', "response_file = 'body'"), str(folder / "r.toml")
        )
        self.assertEqual(rules.rules[0].response, b"x\0")


class GreetingTests(SynchronousTestCase):
    """
    The greeting sent on connect, in its three forms.
    """

    def test_none(self) -> None:
        self.assertIsNone(parse(rule('prefix = "a"')).greeting)

    def test_text_with_default_nul(self) -> None:
        self.assertEqual(parse('greeting = "220 ready"').greeting, b"220 ready\0")

    def test_hex(self) -> None:
        self.assertEqual(parse('greeting_hex = "ff00"').greeting, b"\xff\x00\0")

    def test_file(self) -> None:
        folder = makeFolder(self)
        (folder / "banner").write_bytes(b"hello\r\n")
        rules = parse('greeting_file = "banner"\ngreeting_terminator = ""', folder)
        self.assertEqual(rules.greeting, b"hello\r\n")

    def test_greeting_terminator(self) -> None:
        rules = parse('greeting = "220 ready"\ngreeting_terminator = "\\r\\n"')
        self.assertEqual(rules.greeting, b"220 ready\r\n")

    def test_file_terminator(self) -> None:
        """
        The top-level C{terminator} applies to the greeting too, unless
        C{greeting_terminator} says otherwise; neither touches the other.
        """
        self.assertEqual(parse('greeting = "hi"\nterminator = "\\n"').greeting, b"hi\n")
        rules = parse(
            'greeting = "hi"\nterminator = "\\n"\ngreeting_terminator = ""\n'
            + rule('prefix = "a"')
        )
        self.assertEqual(rules.greeting, b"hi")
        self.assertEqual(rules.rules[0].response, b"ok\n")

    def test_unicode(self) -> None:
        self.assertEqual(parse('greeting = "¡hola!"').greeting, "¡hola!\0".encode())


class FaultTests(SynchronousTestCase):
    """
    Delays, slow writes, and the faults that answer nothing.
    """

    def test_plain_rule(self) -> None:
        """
        A rule without faults answers at once, in one write.
        """
        found = parse(rule('prefix = "a"')).rules[0]
        self.assertEqual(found.action, "answer")
        self.assertEqual(found.delay, 0.0)
        self.assertIsNone(found.slowBytes)

    def test_delay(self) -> None:
        found = parse(rule('prefix = "a"', 'response = "x"\ndelay = 0.5')).rules[0]
        self.assertEqual((found.action, found.delay), ("answer", 0.5))

    def test_delay_integer_and_zero(self) -> None:
        for given, expected in (("2", 2.0), ("0", 0.0), ("0.0", 0.0)):
            text = rule('prefix = "a"', f'response = "x"\ndelay = {given}')
            delay = parse(text).rules[0].delay
            self.assertEqual(delay, expected)
            self.assertIsInstance(delay, float)

    def test_slow(self) -> None:
        """
        C{slow} may be an inline table, dotted keys or a sub-table.
        """
        forms = [
            "slow = { bytes = 3, interval = 0.25 }",
            "slow.bytes = 3\nslow.interval = 0.25",
            "[rule.slow]\nbytes = 3\ninterval = 0.25",
        ]
        for form in forms:
            found = parse(rule('prefix = "a"', f'response = "x"\n{form}')).rules[0]
            self.assertEqual((found.slowBytes, found.slowInterval), (3, 0.25), form)
            self.assertEqual(found.action, "answer")

    def test_delay_and_slow(self) -> None:
        found = parse(
            rule(
                'prefix = "a"',
                'response = "x"\ndelay = 1\nslow = {bytes=1, interval=1}',
            )
        ).rules[0]
        self.assertEqual((found.delay, found.slowBytes, found.slowInterval), (1, 1, 1))

    def test_faults(self) -> None:
        """
        A fault replaces the response: C{close}, C{reset} and C{never} have
        none.
        """
        for fault in ("close", "reset", "never"):
            found = parse(rule('prefix = "a"', f'fault = "{fault}"')).rules[0]
            self.assertEqual(found.action, fault)
            self.assertIsNone(found.response)
            self.assertEqual(found.delay, 0.0)

    def test_close_and_reset_after_a_delay(self) -> None:
        for fault in ("close", "reset"):
            found = parse(rule('prefix = "a"', f'fault = "{fault}"\ndelay = 3')).rules[
                0
            ]
            self.assertEqual((found.action, found.delay), (fault, 3.0))


class ErrorTests(SynchronousTestCase):
    """
    Every way a rules file can be wrong is refused with one line naming the
    file, the line and the reason.
    """

    def assertRulesError(
        self, text: str, line: int | None, *fragments: str, folder: Path | None = None
    ) -> RulesError:
        """
        Parsing C{text} fails at C{line}, with every fragment in the
        message, which is one line.
        """
        with self.assertRaises(RulesError) as caught:
            parse(text, folder)
        return self.checkError(caught.exception, SOURCE, line, *fragments)

    def checkError(
        self, error: RulesError, source: str, line: int | None, *fragments: str
    ) -> RulesError:
        message = str(error)
        where = source if line is None else f"{source}:{line}"
        self.assertTrue(message.startswith(f"{where}: "), message)
        self.assertEqual(message.splitlines(), [message])
        self.assertIsInstance(error, ValueError)
        self.assertEqual((error.source, error.line), (source, line))
        self.assertEqual(message, f"{where}: {error.reason}")
        for fragment in fragments:
            self.assertIn(fragment, message)
        return error

    # TOML itself

    def test_syntax_error(self) -> None:
        """
        tomllib's line becomes the error's line.
        """
        self.assertRulesError(
            "greeting = 'a'\n\n[[rule]]\nprefix = = 'x'\n",
            4,
            "invalid TOML: Invalid value (column 10)",
        )

    def test_syntax_error_at_end(self) -> None:
        """
        An error at the end of the text blames the last line.
        """
        self.assertRulesError(
            "[[rule]]\nresponse = '''never\nclosed",
            3,
            "invalid TOML:",
            "end of document",
        )

    def test_duplicate_key(self) -> None:
        self.assertRulesError(rule('prefix = "a"', 'prefix = "b"'), 3, "invalid TOML:")

    def test_not_utf8(self) -> None:
        folder = makeFolder(self)
        path = folder / "rules.toml"
        path.write_bytes(b"# ok\ngreeting = '\xff'\n")
        with self.assertRaises(RulesError) as caught:
            loadRules(path)
        self.checkError(caught.exception, str(path), 2, "not UTF-8", "0xff")

    def test_byte_order_mark(self) -> None:
        """
        A byte order mark from an editor is not an error.
        """
        folder = makeFolder(self)
        path = folder / "rules.toml"
        path.write_bytes(b"\xef\xbb\xbfgreeting = 'hi'\n")
        self.assertEqual(loadRules(path).greeting, b"hi\0")

    def test_missing_rules_file(self) -> None:
        folder = makeFolder(self)
        path = str(folder / "nothing.toml")
        with self.assertRaises(RulesError) as caught:
            loadRules(path)
        self.checkError(caught.exception, path, None, "No such file or directory")

    def test_rules_file_is_a_folder(self) -> None:
        folder = makeFolder(self)
        with self.assertRaises(RulesError) as caught:
            loadRules(folder)
        self.checkError(caught.exception, str(folder), None, "not a regular file")

    def test_rules_file_is_a_fifo(self) -> None:
        """
        A FIFO is refused at once, never waited on.
        """
        folder = makeFolder(self)
        fifo = folder / "fifo"
        os.mkfifo(fifo)
        with self.assertRaises(RulesError) as caught:
            loadRules(fifo)
        self.checkError(caught.exception, str(fifo), None, "not a regular file")

    def test_unreadable_rules_file(self) -> None:
        if os.geteuid() == 0:
            raise self.skipTest("root reads files whatever their mode")
        folder = makeFolder(self)
        path = folder / "rules.toml"
        path.write_text("")
        path.chmod(0)
        with self.assertRaises(RulesError) as caught:
            loadRules(path)
        self.checkError(caught.exception, str(path), None, "Permission denied")

    def test_open_refused(self) -> None:
        """
        Whatever stops the file being opened is named, even for root, who
        cannot be refused by a file's mode.
        """

        def refuse(*args: object) -> int:
            raise PermissionError(13, "Permission denied")

        self.patch(os, "open", refuse)
        with self.assertRaises(RulesError) as caught:
            loadRules("secret.toml")
        self.checkError(
            caught.exception,
            "secret.toml",
            None,
            "cannot read rules file: Permission denied",
        )
        self.assertRulesError(
            rule('prefix = "a"', 'response_file = "body"'),
            3,
            "rule 1: response_file 'body'",
            ": Permission denied",
        )

    def test_source_with_newline(self) -> None:
        """
        Even a file name cannot break the message onto two lines.
        """
        with self.assertRaises(RulesError) as caught:
            parseRules("x = 1", "a\nb.toml", Path("."))
        self.assertEqual(str(caught.exception).splitlines()[0], str(caught.exception))
        self.assertTrue(str(caught.exception).startswith("a\\nb.toml:1: "))

    # Keys

    def test_unknown_top_level_key(self) -> None:
        self.assertRulesError(
            "# x\ngreting = 'hi'", 2, "unknown key 'greting'", "did you mean 'greeting'"
        )
        self.assertRulesError("zzz = 1", 1, "unknown key 'zzz'", "expected one of")

    def test_unknown_top_level_table(self) -> None:
        self.assertRulesError("\n[server]\nport = 1", 2, "unknown key 'server'")

    def test_unknown_rule_key(self) -> None:
        self.assertRulesError(
            rule('prefix = "a"', 'respnse = "x"'),
            3,
            "rule 1: unknown key 'respnse'",
            "did you mean 'response'",
        )

    def test_unknown_slow_key(self) -> None:
        self.assertRulesError(
            rule('prefix = "a"', 'response = "x"\nslow = {bytes=1, interval=1, x=1}'),
            4,
            "rule 1: slow: unknown key 'x'",
        )

    def test_rule_not_an_array_of_tables(self) -> None:
        self.assertRulesError("rule = 1", 1, "array of [[rule]] tables", "integer 1")
        self.assertRulesError("\n[rule]\nprefix = 'a'", 2, "write [[rule]], not [rule]")
        self.assertRulesError(
            "rule = [\n  {prefix='a', response='b'},\n  'x',\n]",
            3,
            "rule 2 must be a table, not string 'x'",
        )

    def test_inline_array_of_rules(self) -> None:
        """
        Rules written as an array of inline tables are blamed by the line
        of each table.
        """
        rules = parse(
            "rule = [\n  {prefix='a', response='b'},\n  {prefix='c', fault='close'},\n]"
        )
        self.assertEqual([r.line for r in rules.rules], [2, 3])
        self.assertRulesError(
            "rule = [\n  {prefix='a', response='b'},\n  {prefix=1, response='c'},\n]",
            3,
            "rule 2: prefix must be a string, not integer 1",
        )

    # Match keys

    def test_no_match_key(self) -> None:
        self.assertRulesError(
            'greeting = "x"\n\n' + rule('response = "x"', ""),
            3,
            "rule 1: needs a match key: one of equals, equals_hex, prefix,"
            " prefix_hex, regex",
        )

    def test_two_match_keys(self) -> None:
        self.assertRulesError(
            rule('prefix = "a"', 'response = "x"\nregex = "b"'),
            4,
            "rule 1: prefix and regex cannot go together",
        )
        self.assertRulesError(
            rule('equals = "a"\nequals_hex = "61"'),
            3,
            "equals and equals_hex cannot go together",
        )

    def test_match_key_types(self) -> None:
        for key in ("equals", "equals_hex", "prefix", "prefix_hex", "regex"):
            self.assertRulesError(
                rule(f"{key} = 1"), 2, f"rule 1: {key} must be a string, not integer 1"
            )
        self.assertRulesError(
            rule("prefix = ['a']"), 2, "prefix must be a string, not array"
        )
        self.assertRulesError(
            rule("prefix = 1979-05-27"), 2, "not date datetime.date(1979, 5, 27)"
        )

    def test_bad_hex(self) -> None:
        for value in ("abc", "zz", "0x41", "4 1"):
            for key in ("equals_hex", "prefix_hex"):
                self.assertRulesError(
                    rule(f'{key} = "{value}"'),
                    2,
                    f"rule 1: {key} '{value}' is not hex digits in pairs",
                )
            self.assertRulesError(
                rule('prefix = "a"', f'response_hex = "{value}"'),
                3,
                f"rule 1: response_hex '{value}' is not hex",
            )
            self.assertRulesError(
                f'greeting_hex = "{value}"', 1, f"greeting_hex '{value}' is not hex"
            )

    def test_bad_hex_with_newline(self) -> None:
        """
        A value holding a line break is quoted on the error's one line.
        """
        self.assertRulesError(
            rule('prefix = "a"', 'response_hex = """\nzz\nzz"""'),
            3,
            "response_hex 'zz\\nzz' is not hex",
        )

    def test_long_value_shortened(self) -> None:
        error = self.assertRulesError(
            rule(f'prefix_hex = "{"z" * 500}"'),
            2,
            "prefix_hex 'zzzz",
            "zzz... is not hex",
        )
        self.assertLess(len(str(error)), 200)

    def test_invalid_regex(self) -> None:
        self.assertRulesError(
            rule("regex = '(unclosed'"),
            2,
            "rule 1: regex '(unclosed' is not a valid regular expression:",
            "missing )",
        )

    def test_invalid_regex_quoted_printably(self) -> None:
        """
        RE2's message quotes the pattern raw; control and line-breaking
        characters in it are escaped in the error.
        """
        error = self.assertRulesError(
            rule('regex = "[\\u001b[2J\\u0085x\\u2028y"'),
            2,
            "regex '[\\x1b[2J\\x85x\\u2028y' is not a valid regular expression",
            "missing ]: [\\x1b[2J\\u0085x\\u2028y",
        )
        self.assertTrue(str(error).isprintable(), str(error))

    def test_nested_too_deeply(self) -> None:
        """
        tomllib recurses into nested arrays; too deep is an error in the
        file, not a RecursionError.
        """
        self.assertRulesError(
            "a = " + "[" * 5000 + "]" * 5000, None, "invalid TOML: nested too deeply"
        )

    def test_lone_surrogate(self) -> None:
        """
        Text that cannot be UTF-8 (only possible when text is given to
        L{parseRules} directly) is refused, not mangled.
        """
        self.assertRulesError(
            rule('prefix = "a"', 'response = "x\ud800"'),
            3,
            "rule 1: response holds '\\ud800', a lone surrogate",
        )

    # Responses

    def test_no_response(self) -> None:
        self.assertRulesError(
            rule('prefix = "a"', "delay = 1"),
            1,
            "rule 1: needs a response: one of response, response_hex, response_file"
            " (or a fault: close, reset or never)",
        )

    def test_two_responses(self) -> None:
        self.assertRulesError(
            rule('prefix = "a"', 'response = "x"\nresponse_hex = "00"'),
            4,
            "rule 1: response and response_hex cannot go together",
        )
        self.assertRulesError(
            rule('prefix = "a"', 'response_hex = "00"\nresponse_file = "f"'),
            4,
            "response_hex and response_file cannot go together",
        )

    def test_response_types(self) -> None:
        cases = {
            "response = 1": (3, "response"),
            "response_hex = 1": (3, "response_hex"),
            "response_file = 1": (3, "response_file"),
            'response = "x"\nterminator = 1': (4, "terminator"),
        }
        for keys, (line, key) in cases.items():
            self.assertRulesError(
                rule('prefix = "a"', keys),
                line,
                f"rule 1: {key} must be a string, not integer 1",
            )
        self.assertRulesError(
            rule('prefix = "a"', "response = true"),
            3,
            "response must be a string, not boolean True",
        )

    def test_response_with_a_fault(self) -> None:
        for key, value in (
            ("response", '"x"'),
            ("response_hex", '"00"'),
            ("response_file", '"f"'),
            ("terminator", '""'),
            ("slow", "{ bytes = 1, interval = 1 }"),
        ):
            for fault in ("close", "reset", "never"):
                self.assertRulesError(
                    rule('prefix = "a"', f'fault = "{fault}"\n{key} = {value}'),
                    4,
                    f"rule 1: {key} cannot go with fault = '{fault}',"
                    " which sends nothing",
                )

    def test_missing_response_file(self) -> None:
        folder = makeFolder(self)
        self.assertRulesError(
            rule('prefix = "a"', 'response_file = "nothing.bin"'),
            3,
            f"rule 1: response_file 'nothing.bin' ('{folder / 'nothing.bin'}'):"
            " No such file or directory",
            folder=folder,
        )

    def test_response_file_not_a_regular_file(self) -> None:
        folder = makeFolder(self)
        (folder / "sub").mkdir()
        os.mkfifo(folder / "fifo")
        for name in ("sub", "fifo", "/dev/zero"):
            self.assertRulesError(
                rule('prefix = "a"', f'response_file = "{name}"'),
                3,
                f"rule 1: response_file '{name}'",
                "not a regular file",
                folder=folder,
            )

    def test_response_file_too_large(self) -> None:
        folder = makeFolder(self)
        self.patch(responder.rules._files, "MAX_FILE_BYTES", 4)
        (folder / "four").write_bytes(b"1234")
        (folder / "five").write_bytes(b"12345")
        text = rule('prefix = "a"', 'response_file = "four"')
        self.assertEqual(parse(text, folder).rules[0].response, b"1234\0")
        self.assertRulesError(
            rule('prefix = "a"', 'response_file = "five"'),
            3,
            "response_file 'five'",
            "larger than",
            folder=folder,
        )

    def test_unreadable_response_file(self) -> None:
        if os.geteuid() == 0:
            raise self.skipTest("root reads files whatever their mode")
        folder = makeFolder(self)
        (folder / "secret").write_bytes(b"x")
        (folder / "secret").chmod(0)
        self.assertRulesError(
            rule('prefix = "a"', 'response_file = "secret"'),
            3,
            "Permission denied",
            folder=folder,
        )

    def test_empty_response_file_name(self) -> None:
        self.assertRulesError(
            rule('prefix = "a"', 'response_file = ""'), 3, "response_file is empty"
        )

    # Greeting

    def test_two_greetings(self) -> None:
        self.assertRulesError(
            'greeting = "a"\ngreeting_hex = "00"',
            2,
            "greeting and greeting_hex cannot go together",
        )

    def test_greeting_types(self) -> None:
        self.assertRulesError(
            "greeting = [1]", 1, "greeting must be a string, not array"
        )
        self.assertRulesError(
            'greeting = "a"\ngreeting_terminator = 0',
            2,
            "greeting_terminator must be a string, not integer 0",
        )
        self.assertRulesError(
            "terminator = 1.5", 1, "terminator must be a string, not float 1.5"
        )

    def test_greeting_terminator_without_greeting(self) -> None:
        self.assertRulesError(
            'greeting_terminator = "\\n"', 1, "greeting_terminator is set but there"
        )

    def test_missing_greeting_file(self) -> None:
        folder = makeFolder(self)
        self.assertRulesError(
            'greeting_file = "banner"',
            1,
            "greeting_file 'banner'",
            "No such file or directory",
            folder=folder,
        )

    # Faults

    def test_bad_delay(self) -> None:
        cases = {
            "-1": "delay must be 0 seconds or more, not -1",
            "-0.5": "delay must be 0 seconds or more, not -0.5",
            "inf": "delay must be a finite number of seconds, not inf",
            "-inf": "delay must be a finite number of seconds, not -inf",
            "nan": "delay must be a finite number of seconds, not nan",
            '"1"': "delay must be a number of seconds, not string '1'",
            "true": "delay must be a number of seconds, not boolean True",
            # Too large for a float: once an OverflowError and a traceback.
            "1" + "0" * 400: "delay must be a finite number of seconds, not 1000",
        }
        for value, reason in cases.items():
            self.assertRulesError(
                rule('prefix = "a"', f'response = "x"\n\ndelay = {value}'),
                5,
                f"rule 1: {reason}",
            )

    def test_delay_with_never(self) -> None:
        self.assertRulesError(
            rule('prefix = "a"', 'fault = "never"\ndelay = 1'),
            4,
            "rule 1: delay cannot go with fault = 'never'",
        )

    def test_bad_fault(self) -> None:
        self.assertRulesError(
            rule('prefix = "a"', 'fault = "explode"'),
            3,
            "rule 1: fault 'explode' is not one of close, reset, never",
        )
        self.assertRulesError(
            rule('prefix = "a"', 'fault = "answer"'), 3, "is not one of"
        )
        self.assertRulesError(
            rule('prefix = "a"', "fault = true"),
            3,
            "rule 1: fault must be a string, not boolean True",
        )

    def test_bad_slow(self) -> None:
        shape = "slow = { bytes = N, interval = SECONDS }"
        cases = {
            "slow = 1": f"slow must be a table, {shape}, not integer 1",
            "slow = { interval = 1 }": "slow needs bytes",
            "slow = { bytes = 1 }": "slow needs interval",
            "slow = { bytes = 0, interval = 1 }": "slow.bytes must be 1 or more, not 0",
            "slow = { bytes = -3, interval = 1 }": "slow.bytes must be 1 or more",
            "slow = { bytes = 1.5, interval = 1 }": (
                "slow.bytes must be a whole number, not float 1.5"
            ),
            "slow = { bytes = true, interval = 1 }": (
                "slow.bytes must be a whole number, not boolean True"
            ),
            "slow = { bytes = 1, interval = 0 }": (
                "slow.interval must be more than 0 seconds, not 0"
            ),
            "slow = { bytes = 1, interval = -1.0 }": (
                "slow.interval must be more than 0 seconds, not -1.0"
            ),
            "slow = { bytes = 1, interval = inf }": "slow.interval must be a finite",
            "slow = { bytes = 1, interval = nan }": "slow.interval must be a finite",
            "slow = { bytes = 1, interval = '1' }": (
                "slow.interval must be a number of seconds, not string '1'"
            ),
        }
        for value, reason in cases.items():
            self.assertRulesError(
                rule('prefix = "a"', f'response = "x"\n{value}'), 4, f"rule 1: {reason}"
            )

    def test_bad_slow_in_sub_table(self) -> None:
        """
        A key in a C{[rule.slow]} table is blamed by its own line.
        """
        self.assertRulesError(
            rule('prefix = "a"')
            + rule(
                'prefix = "b"', 'response = "x"\n[rule.slow]\nbytes = 1\ninterval = 0'
            ),
            9,
            "rule 2: slow.interval must be more than 0",
        )

    # Lines

    def test_blames_key_line(self) -> None:
        """
        An error in a key is blamed on the key's line; an error of the
        whole rule, on its C{[[rule]]} header.
        """
        text = (
            "# a comment\n"
            'greeting = "hi"\n'
            "\n"
            "[[rule]]\n"
            'prefix = "a"\n'
            'response = "x"\n'
            "\n"
            "[[ rule ]]   # second\n"
            'prefix = "b"\n'
            'response = "y"\n'
            "delay = -1\n"
        )
        self.assertRulesError(text, 11, "rule 2: delay must be 0 seconds or more")
        self.assertRulesError(
            text.replace('prefix = "b"\n', ""), 8, "rule 2: needs a match key"
        )

    def test_strings_do_not_confuse_lines(self) -> None:
        """
        Text inside strings of every kind that looks like a header or a key
        is not taken for one.
        """
        text = (
            "[[rule]]\n"
            'prefix = "[[rule]]"\n'
            'response = """\n'
            "[[rule]]\n"
            'delay = 5 \\""" \n'
            '"""\n'
            "terminator = '''\n"
            "[[rule]]\n"
            "delay = ''''\n"
            "\n"
            "[[rule]]  # '''\n"
            "prefix = 'b' # [[rule]]\n"
            "response = 'x'\n"
            'delay = "\\"[[rule]]"\n'
        )
        self.assertRulesError(text, 14, "rule 2: delay must be a number of seconds")

    def test_quoted_keys_and_arrays(self) -> None:
        """
        Quoted keys, and multi-line arrays and inline tables elsewhere in
        the file, are followed too.
        """
        text = (
            "[[rule]]\n"
            '"prefix" = "a"\n'
            "response = 'x'\n"
            "\n"
            "[[rule]]\n"
            "'prefix' = \"b\"\n"
            'response = "y"\n'
            "  slow   =   { bytes = 1, 'interval' = 0 }\n"
        )
        self.assertRulesError(text, 8, "rule 2: slow.interval must be more than 0")
        self.assertRulesError(
            "[[rule]]\nprefix = 'a'\nresponse = 'x'\nzzz = [\n  1,\n  [2, 3],\n]\n",
            4,
            "rule 1: unknown key 'zzz'",
        )

    def test_windows_line_endings(self) -> None:
        text = rule('prefix = "a"', 'response = "x"\ndelay = -1').replace("\n", "\r\n")
        self.assertRulesError(text, 4, "delay must be 0 seconds or more")


class ExampleTests(SynchronousTestCase):
    """
    The example file in C{contrib/} parses, and does what its comments say.
    """

    def test_example(self) -> None:
        rules = loadRules(EXAMPLE)
        self.assertEqual(rules.greeting, b"220 responder.example ESMTP ready\r\n")

        def answer(request: bytes) -> Rule:
            found = rules.match(request)
            assert found is not None, request
            return found

        self.assertEqual(answer(b"PING").response, b"PONG\r\n")
        self.assertEqual(answer(b"QUIT now").response, b"221 bye\r\n")
        self.assertEqual(answer(b"ehlo client").response, b"250 responder.example\r\n")
        self.assertEqual(answer(b"\x16\x03\x01").action, "reset")
        self.assertEqual(answer(b"VERSION").response, b"\x01\x02\xff")
        self.assertTrue((answer(b"NUL").response or b"").endswith(b"\0"))
        slow = answer(b"SLOW")
        self.assertEqual(
            (slow.delay, slow.slowBytes, slow.slowInterval), (1.5, 4, 0.25)
        )
        close = answer(b"CLOSE")
        self.assertEqual((close.action, close.delay), ("close", 2.0))
        self.assertEqual(answer(b"HANG").action, "never")
        self.assertEqual(answer("grüß".encode()).response, "grüß dich ✓\r\n".encode())
        self.assertEqual(answer(b"").response, b"say something\r\n")
        self.assertIsNone(rules.match(b"something else"))
        self.assertTrue(all(math.isfinite(r.delay) for r in rules.rules))
