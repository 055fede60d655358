"""Patterns compiled to byte automata answer as RE2 (DuckDB's `regexp_full_match`) does, for any text."""

from __future__ import annotations

import duckdb
import hypothesis.strategies as st
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from shuzhi.classify import patterns, vectorised
from shuzhi.classify.patterns import NO, UNDECIDED, YES

CON = duckdb.connect()


def re2(values: list[str | None], pattern: str) -> list[bool | None]:
    rows = CON.execute(
        "SELECT regexp_full_match(v, ?) FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS u(v, i) ORDER BY i",
        [pattern, values],
    ).fetchall()
    return [r[0] for r in rows]


def agree(pattern: str, values: list[str | None]) -> None:
    """The automaton's answers are RE2's where it decides; it leaves undecided only values it read a
    byte above 127 of; with RE2 on those, every answer is RE2's."""
    answers = vectorised.full_match(pa.array(values, pa.string()), pattern).to_pylist()
    expected = re2(values, pattern)
    for value, got, want in zip(values, answers, expected, strict=True):
        if value is None:
            assert got is None and want is None
        elif got == UNDECIDED:
            assert any(ord(c) > 127 for c in value), (pattern, value)
        else:
            assert got == (YES if want else NO), (pattern, value, got, want)


SAMPLES = [
    "",
    "a",
    "abc",
    "user.name+tag@example.gov.cn",
    "bad@",
    "@x.cn",
    "a@b.c",
    "13812345678",
    "+86 13812345678",
    "8613812345678",
    "-42",
    "+7",
    "4.5e10",
    ".5",
    "2026-12-07",
    "2026-12-07 10:30:00.123456",
    "100000",
    "10000",
    "1000000",
    "a\nb",
    "a b",
    "名字@example.cn",
    "x@例子.cn",
    "é",
    "\u3000",
    "line\n",
]


@pytest.mark.parametrize(
    "pattern",
    [
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
        r"[0-9]{6}",
        r"^[0-9]{6}$",
        r"^a|b$",
        r"(\+?86[ -]?)?1[3-9][0-9]{9}",
        r"[+-]?[0-9]+",
        r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?",
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?",
        r"[^@]+",
        r".*",
        r".+",
        r"a.b",
        r"\d+\D?",
        r"\w+\W\w+",
        r"(?:ab)*?c?",
        r"x{0,3}y{2}z{1,}",
        r"\x41\x2e*",
        r"\\\.\-\ ",
        r"[\]a]+",
        r"[^\]a]+",
        r"a|",
        r"()",
        # A repetition inside a repetition: entering the inner one's end must not lead into its body.
        r"(a)(b{2,}){0,}",
        r"((ab){2,})?x?",
        r"(a+|b){2,3}",
    ],
)
def test_patterns_of_the_subset_answer_as_re2(pattern):
    assert patterns.automaton(pattern) is not None
    agree(pattern, [*SAMPLES, None])


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?i)true",  # RE2 folds case beyond ASCII (the Kelvin sign is a k)
        r"a\sb",  # RE2's \s has no vertical tab, Python's has
        r"[[:alpha:]]+",  # a POSIX class to RE2, a class of five characters then ] to Python
        r"a{,3}",  # a literal to RE2, a repetition to Python
        r"\bword\b",
        r"a\Z",
        r"a$b",
        r"(a)\1",
        r"(?=a)a",
        r"(?P<n>a)",
        r"\u0041",
        r"\Qa.b\E",
        r"\pN",
        r"[一-龥]{2,4}",  # a non-ASCII pattern
        r"\xe9",
        r"(a|b)*a(a|b){12}",  # 2**13 states
        r"[0-9]{5000}",
    ],
)
def test_patterns_outside_the_subset_are_left_to_re2(pattern):
    assert patterns.automaton(pattern) is None
    assert vectorised.matcher(pattern) is None


def test_answers_and_nulls_from_the_loop():
    values = pa.array(["abc@x.org", "bad", None, "é@x.org", "ab@é.org"])
    email = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
    assert vectorised.full_match(values, email).to_pylist() == [YES, NO, None, UNDECIDED, UNDECIDED]
    # Dead before the byte above 127: decided (nothing after an @ followed by @ can match).
    assert vectorised.full_match(values, r"[^@]+").to_pylist() == [NO, YES, None, UNDECIDED, NO]
    # A slice of an array (an offset into its buffers) and a large string array read alike.
    assert vectorised.full_match(values.slice(1), email).to_pylist() == [NO, None, UNDECIDED, UNDECIDED]
    large = values.cast(pa.large_string())
    assert vectorised.full_match(large, email).to_pylist() == [YES, NO, None, UNDECIDED, UNDECIDED]
    with pytest.raises(ValueError, match="no automaton"):
        vectorised.full_match(values, r"(?i)x")


def test_a_matcher_is_named_by_its_pattern_and_known_to_spec():
    name = vectorised.matcher("[0-9]{6}")
    assert name == vectorised.matcher("[0-9]{6}") != vectorised.matcher("[0-9]{5}")
    assert name.startswith(vectorised.MATCH_PREFIX)
    function, args, result = vectorised.spec(name)
    assert (args, result) == (["VARCHAR"], "TINYINT")
    assert function(pa.array(["123456", "12345"])).to_pylist() == [YES, NO]
    assert vectorised.spec("sz_match_unknown") is None


# -- any pattern of the subset's pieces, any text --------------------------------------------------

CHARS = ["a", "b", "c", "0", "9", ".", "-", " ", "\n", "_", "@", "é", "中", "\u3000"]
ATOMS = st.sampled_from(
    [
        "a",
        "b",
        "c",
        "0",
        ".",
        "@",
        "[a-c]",
        "[^a]",
        "[0-9.]",
        "[^@\n]",
        *[r"\.", r"\-", r"\d", r"\D", r"\w", r"\W"],
    ]
)


def _quantified(atom: st.SearchStrategy) -> st.SearchStrategy:
    quantifiers = st.sampled_from(["", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "+?", "{2,}"])
    return st.tuples(atom, quantifiers).map("".join)


def _sequence(part: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(_quantified(part), min_size=1, max_size=4).map("".join)


PATTERNS = st.recursive(
    _sequence(ATOMS),
    lambda inner: st.one_of(
        _sequence(st.tuples(st.sampled_from(["(", "(?:"]), inner).map(lambda t: t[0] + t[1] + ")")),
        st.lists(inner, min_size=2, max_size=3).map("|".join),
        st.tuples(inner, inner).map("".join),
    ),
    max_leaves=6,
)
TEXTS = st.lists(st.lists(st.sampled_from(CHARS), max_size=8).map("".join), min_size=1, max_size=25)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pattern=PATTERNS, texts=TEXTS)
def test_any_pattern_built_of_the_subset_answers_as_re2(pattern, texts):
    if patterns.automaton(pattern) is None:  # too many states: left to RE2, nothing to compare
        return
    agree(pattern, texts)


SPELLING = st.lists(
    st.sampled_from(list("ab0.-^$|()[]{}*+?,:\\dswbxDQE1") + ["(?", "(?:", "[^", "{2}", "{1,", "\\\\"]),
    min_size=1,
    max_size=10,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(pattern=SPELLING, texts=TEXTS)
def test_any_text_as_a_pattern_is_compiled_only_when_it_means_what_re2_reads(pattern, texts):
    """Arbitrary spellings, where Python's parser and RE2 may read one text differently: a pattern
    compiled to an automaton answers as RE2 (one RE2 refuses is refused however it runs, since the
    SQL around the automaton keeps RE2's call: `quality.kinds.full_match`)."""
    if patterns.automaton(pattern) is None:
        return
    try:
        re2(["x"], pattern)
    except duckdb.Error:
        return
    agree(pattern, [*texts, "ab", "a.b", "-", "0", "d", "", "{2}", "a{1,", "\\"])


def test_an_automaton_too_dear_to_build_is_left_to_re2(monkeypatch):
    email = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
    for limit, value in [("MAX_WORK", 50), ("MAX_DFA_STATES", 5), ("MAX_NFA_STATES", 20)]:
        with monkeypatch.context() as mp:
            mp.setattr(patterns, limit, value)
            patterns.automaton.cache_clear()
            assert patterns.automaton(email) is None, limit
    patterns.automaton.cache_clear()
    assert patterns.automaton(email) is not None


def test_without_pythons_parser_of_re_every_pattern_is_left_to_re2(monkeypatch):
    monkeypatch.setattr(patterns, "sre_parse", None)
    patterns.automaton.cache_clear()
    assert patterns.automaton("[0-9]{6}") is None and vectorised.matcher("[0-9]{6}") is None
    monkeypatch.undo()
    patterns.automaton.cache_clear()
    assert patterns.automaton("[0-9]{6}") is not None
