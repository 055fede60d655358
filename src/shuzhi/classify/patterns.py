"""Regular expressions of a plain ASCII subset compiled to the tables of a byte automaton (a DFA).

DuckDB's `regexp_full_match` (RE2) was the dearest expression of a quality scan, and DuckDB cannot
evaluate it once per distinct value. A pattern of the subset runs instead as a table of
transitions that a compiled loop walks over the bytes of a column (`vectorised.full_match`); any
other pattern stays with RE2 (`automaton` answers None).

Exact whatever the data: the automaton reads ASCII only. A value in which it meets a byte above
127 before it has failed is answered UNDECIDED, and the SQL around the call asks RE2 for those
values (`quality.kinds.full_match`). On ASCII text the subset means the same to RE2 and to the
automaton:

- the pattern is printable ASCII, parsed by Python's own parser (`re._parser`) after a check of
  its spelling that refuses what the two dialects read differently (POSIX classes `[:alpha:]`,
  `{,n}`, flags and groups other than `(?:`, escapes other than of punctuation and of `d D w W n t r
  f v` and `\\xHH`);
- the parsed tree holds only literals, classes (`\\s` refused: RE2's has no vertical tab), `.`
  (not a newline, as RE2's), groups, alternatives and repetitions; `^` only at the start of the
  whole pattern or of one of its top alternatives, `$` only at the end: there, in a full match,
  they hold anyway.

A pattern whose automaton would exceed MAX_NFA_STATES or MAX_DFA_STATES states, or take more than
MAX_WORK steps to build, is left to RE2: building a table never runs away with a run's time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

try:  # CPython 3.11+: the parser of `re` and its names, public in all but name
    from re import _constants as sre
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - a Python without them: every pattern is left to RE2
    sre = sre_parse = None

import numpy as np

NO, YES, UNDECIDED = 0, 1, 2
"""What the loop answers per value: no match, a match, a byte above 127 met (RE2 decides)."""
DEAD, UNKNOWN, START = 0, 1, 2
"""States of every automaton: no match possible, a non-ASCII byte met, the start."""
MAX_NFA_STATES = 4096
MAX_DFA_STATES = 1024
MAX_WORK = 2_000_000
"""States of the first automaton visited while determinising, at most (about 0.2 s of CPU)."""
ASCII = frozenset(range(128))

_ESCAPES = re.compile(r"\\(x[0-9A-Fa-f]{2}|[dDwWntrfv]|[^0-9A-Za-z])")
_SPELLING = re.compile(r"^[\x20-\x7e]*$")
_SPELLINGS_REFUSED = ("[:", "{,", "[[", "--", "&&", "~~", "||")
"""A POSIX class and `{,n}` (RE2 reads them otherwise than Python); what Python warns it may one day
read as a nested class or an operation on classes."""


@dataclass(frozen=True)
class Automaton:
    table: np.ndarray
    """uint16 [states, 256]: the state after each byte (read-only)."""
    answers: np.ndarray
    """int8 [states]: what a value ending in each state is (NO, YES; UNKNOWN's: UNDECIDED)."""


class Unsupported(Exception):
    """The pattern is outside the subset, or its automaton too large: RE2 runs it."""


@lru_cache(maxsize=512)
def automaton(pattern: str) -> Automaton | None:
    """The automaton of a whole-value match of `pattern`, or None when RE2 must run it."""
    if sre_parse is None:
        return None
    try:
        _check_spelling(pattern)
        tree = sre_parse.parse(pattern)
        if tree.state.flags & ~sre.SRE_FLAG_UNICODE:
            raise Unsupported("flags")
        nfa = _NFA()
        start, end = nfa.build(_without_anchors(list(tree.data)))
        return _determinise(nfa, start, end)
    except (Unsupported, re.error, RecursionError, OverflowError):
        return None


def _check_spelling(pattern: str) -> None:
    if not _SPELLING.match(pattern) or any(s in pattern for s in _SPELLINGS_REFUSED):
        raise Unsupported("spelling")
    if "(?" in pattern.replace("(?:", ""):
        raise Unsupported("group")
    rest = _ESCAPES.sub("", pattern)
    if "\\" in rest:
        raise Unsupported("escape")


def _without_anchors(items: list) -> list:
    """The top sequence without a leading `^` and a trailing `$` (of it, or of each alternative
    when it is one alternation): a full match begins and ends there anyway. Any other anchor stays,
    and `_NFA` refuses it."""
    if len(items) == 1 and items[0][0] is sre.BRANCH:
        _, alternatives = items[0][1]
        return [(sre.BRANCH, (None, [_strip(list(a.data)) for a in alternatives]))]
    return _strip(items)


def _strip(items: list) -> list:
    if items and items[0] == (sre.AT, sre.AT_BEGINNING):
        items = items[1:]
    if items and items[-1] == (sre.AT, sre.AT_END):
        items = items[:-1]
    return items


_DIGITS = frozenset(range(48, 58))
_WORD = frozenset([*range(48, 58), *range(65, 91), *range(97, 123), 95])
_CATEGORIES = (
    {
        sre.CATEGORY_DIGIT: _DIGITS,
        sre.CATEGORY_WORD: _WORD,
        sre.CATEGORY_NOT_DIGIT: ASCII - _DIGITS,
        sre.CATEGORY_NOT_WORD: ASCII - _WORD,
    }
    if sre is not None
    else {}
)


def _class(items: list) -> frozenset[int]:
    """The ASCII bytes a class `[...]` takes (what it takes above 127 never matters: see the module)."""
    chars: set[int] = set()
    negate = False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            chars.add(av)
        elif op is sre.RANGE:
            chars.update(range(av[0], min(av[1], 127) + 1))
        elif op is sre.CATEGORY and av in _CATEGORIES:
            chars |= _CATEGORIES[av]
        else:
            raise Unsupported(str(op))
    chars &= ASCII
    return frozenset(ASCII - chars if negate else chars)


class _NFA:
    """A Thompson automaton: per state, its moves on a set of bytes and its empty moves."""

    def __init__(self) -> None:
        self.moves: list[list[tuple[frozenset[int], int]]] = []
        self.empty: list[list[int]] = []

    def state(self) -> int:
        if len(self.moves) >= MAX_NFA_STATES:
            raise Unsupported("too many states")
        self.moves.append([])
        self.empty.append([])
        return len(self.moves) - 1

    def build(self, items: list) -> tuple[int, int]:
        """The start and end states of a sequence of parsed items. Every fragment ends in a state it
        leaves by no move of its own: only the construct around it adds some."""
        start = end = self.state()
        for op, av in items:
            s, e = self.item(op, av)
            self.empty[end].append(s)
            end = e
        return start, end

    def chars(self, chars: frozenset[int]) -> tuple[int, int]:
        s, e = self.state(), self.state()
        if chars:
            self.moves[s].append((chars, e))
        return s, e

    def item(self, op, av) -> tuple[int, int]:
        if op is sre.LITERAL:
            if av > 127:
                raise Unsupported("non-ASCII literal")
            return self.chars(frozenset([av]))
        if op is sre.NOT_LITERAL:
            return self.chars(ASCII - {av})
        if op is sre.ANY:
            return self.chars(ASCII - {10})
        if op is sre.IN:
            return self.chars(_class(av))
        if op is sre.SUBPATTERN:
            _group, add, remove, sub = av
            if add or remove:
                raise Unsupported("flags")
            return self.build(list(sub.data))
        if op is sre.BRANCH:
            s, e = self.state(), self.state()
            for alternative in av[1]:  # parsed, or a list from `_without_anchors`
                a, b = self.build(list(getattr(alternative, "data", alternative)))
                self.empty[s].append(a)
                self.empty[b].append(e)
            return s, e
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):  # lazy or greedy: the same for a whole match
            return self.repeat(*av)
        raise Unsupported(str(op))

    def repeat(self, low: int, high, sub) -> tuple[int, int]:
        items = list(sub.data)
        start = end = self.state()
        for _ in range(low):
            s, e = self.build(items)
            self.empty[end].append(s)
            end = e
        if high == sre.MAXREPEAT:
            # A state of its own to leave by: were the body's end also its way round, entering the
            # body's end from outside (an enclosing repetition skipping it) would reach its start.
            s, e = self.build(items)
            out = self.state()
            self.empty[end] += [s, out]
            self.empty[e] += [s, out]
            return start, out
        last = self.state()
        for _ in range(high - low):  # each further copy optional
            s, e = self.build(items)
            self.empty[end].append(s)
            self.empty[end].append(last)
            end = e
        self.empty[end].append(last)
        return start, last

    def closure(self, states) -> frozenset[int]:
        seen, stack = set(states), list(states)
        while stack:
            for t in self.empty[stack.pop()]:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        return frozenset(seen)


def _byte_classes(nfa: _NFA) -> list[list[int]]:
    """The ASCII bytes in groups that every move of the automaton takes or leaves together."""
    sets = list({chars for moves in nfa.moves for chars, _ in moves})
    groups: dict[tuple[bool, ...], list[int]] = {}
    for b in range(128):
        groups.setdefault(tuple(b in s for s in sets), []).append(b)
    return list(groups.values())


def _determinise(nfa: _NFA, start: int, end: int) -> Automaton:
    classes = _byte_classes(nfa)
    first = nfa.closure([start])
    index: dict[frozenset[int], int] = {frozenset(): DEAD, first: START}
    order, rows = [first], []
    work = 0
    while len(rows) < len(order):
        current = order[len(rows)]
        row = np.full(256, UNKNOWN, np.uint16)
        for group in classes:
            b = group[0]
            after = nfa.closure([t for s in current for chars, t in nfa.moves[s] if b in chars])
            work += len(current) + len(after)
            if work > MAX_WORK:
                raise Unsupported("too much work")
            if after not in index:
                if len(index) - 1 >= MAX_DFA_STATES:
                    raise Unsupported("too many states")
                index[after] = len(order) + START
                order.append(after)
            row[group] = index[after]
        rows.append(row)
    table = np.vstack([np.full(256, DEAD, np.uint16), np.full(256, UNKNOWN, np.uint16), *rows])
    answers = np.array([NO, UNDECIDED, *(YES if end in s else NO for s in order)], np.int8)
    table.flags.writeable = answers.flags.writeable = False  # shared, and one kind of array for Numba
    return Automaton(table, answers)
