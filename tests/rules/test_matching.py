"""
Matching a request against rules: the first rule that matches wins,
whatever the mix and order of kinds (runs of C{equals} rules are looked up
in one dictionary, which must not change which rule wins); and the defaults
of a rule built in code.
"""

import re

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from responder.rules import MatchKind, Rule, Rules

#: Few symbols, so that random patterns and requests often match.
_BYTES = st.binary(max_size=3).map(lambda data: bytes(b % 3 + 97 for b in data))


def _naive(rule: Rule, request: bytes) -> bool:
    """
    What each kind of rule means, written out plainly.
    """
    if rule.kind == "equals":
        return request == rule.pattern
    if rule.kind == "prefix":
        return request[: len(rule.pattern)] == rule.pattern
    return re.search(rule.pattern, request) is not None


@st.composite
def _rules(draw: st.DrawFn) -> tuple[Rule, ...]:
    count = draw(st.integers(min_value=0, max_value=8))
    rules = []
    for index in range(1, count + 1):
        kind: MatchKind = draw(st.sampled_from(["equals", "prefix", "regex"]))
        pattern = draw(_BYTES)
        if kind == "regex":
            start = draw(st.sampled_from([b"", b"\\A"]))
            pattern = start + re.escape(pattern) + draw(st.sampled_from([b"", b"\\Z"]))
        rules.append(Rule(kind, pattern, index=index))
    return tuple(rules)


# A plain function: Hypothesis wants one executor per test, and a trial
# TestCase makes a new instance for every run.
@given(_rules(), _BYTES)
def test_first_matching_rule_wins(rules: tuple[Rule, ...], request: bytes) -> None:
    expected = next((rule for rule in rules if _naive(rule, request)), None)
    assert Rules(rules).match(request) is expected


class FirstMatchTests(SynchronousTestCase):
    def test_equal_patterns_keep_the_first(self) -> None:
        first = Rule("equals", b"a", index=1)
        second = Rule("equals", b"a", index=2)
        self.assertIs(Rules((first, second)).match(b"a"), first)

    def test_equals_after_other_kinds(self) -> None:
        """
        An C{equals} rule after a C{prefix} rule that also matches loses
        to it; one before it wins.
        """
        prefix = Rule("prefix", b"a", index=1)
        equals = Rule("equals", b"ab", index=2)
        self.assertIs(Rules((prefix, equals)).match(b"ab"), prefix)
        self.assertIs(Rules((equals, prefix)).match(b"ab"), equals)


class DefaultsTests(SynchronousTestCase):
    def test_rule_built_in_code(self) -> None:
        """
        A rule built in code, not read from a file, answers at once, whole,
        with no response of its own unless given one.
        """
        rule = Rule("prefix", b"")
        self.assertEqual(rule.action, "answer")
        self.assertIsNone(rule.response)
        self.assertEqual(rule.delay, 0.0)
        self.assertIsNone(rule.slowBytes)
        self.assertEqual(rule.slowInterval, 0.0)
        self.assertEqual((rule.index, rule.line), (0, 0))

    def test_rules_built_in_code(self) -> None:
        rules = Rules()
        self.assertEqual((rules.rules, rules.greeting, rules.source), ((), None, ""))
        self.assertIsNone(rules.match(b"anything"))
