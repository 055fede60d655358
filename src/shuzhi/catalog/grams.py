"""An exact substring index over many short texts: which texts hold each pair of adjacent characters.

A text holds a word of two or more characters only if it holds every adjacent pair of the word, so
the texts under all of the word's pairs are a superset of those holding the word (exactly them for a
two-character word); a one-character word is found under the pairs it starts. The caller checks the
few candidates of a longer word with a plain `find`. Built in bulk with numpy: no Python loop over
characters or texts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CODE_BITS = 21
"""Bits of one Unicode code point: a pair is 42 bits, leaving 22 for the text's number in one
64-bit word while building."""

MAX_TEXTS = 1 << (64 - 2 * CODE_BITS)
"""Most texts one index can hold (4,194,304); beyond it the caller scans instead."""

CHUNK_CHARS = 8_000_000
"""Characters turned into pairs at a time while building (bounds the build's working memory)."""


@dataclass(frozen=True)
class PairIndex:
    """Sorted distinct pair keys, and for each the sorted numbers of the texts holding it."""

    keys: np.ndarray  # uint64, ascending
    offsets: np.ndarray  # int64, len(keys) + 1: postings of keys[k] are postings[offsets[k]:offsets[k+1]]
    postings: np.ndarray  # uint32
    texts: int

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.offsets.nbytes + self.postings.nbytes)

    def candidates(self, word: str) -> np.ndarray:
        """The sorted numbers of the texts that may hold `word` (all of them do when it has at most two
        characters); an empty word is in every text."""
        codes = [ord(c) for c in word]
        if not codes:
            return np.arange(self.texts, dtype=np.uint32)
        if 0 in codes:
            return np.zeros(0, np.uint32)
        if len(codes) == 1:
            first = codes[0] << CODE_BITS
            lo, hi = np.searchsorted(self.keys, [first, first + (1 << CODE_BITS)])
            return np.unique(self.postings[self.offsets[lo] : self.offsets[hi]])
        lists = []
        for key in {(a << CODE_BITS) | b for a, b in zip(codes, codes[1:], strict=False)}:
            k = int(np.searchsorted(self.keys, key))
            if k == len(self.keys) or int(self.keys[k]) != key:
                return np.zeros(0, np.uint32)
            lists.append(self.postings[self.offsets[k] : self.offsets[k + 1]])
        lists.sort(key=len)
        found = lists[0]
        for other in lists[1:]:
            found = intersect(found, other)
        return found


def intersect(some: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The numbers in both sorted arrays of distinct numbers, sorted (a binary search of each of the
    first in the second: cheap when the first is the shorter)."""
    if not len(some) or not len(other):
        return some[:0]
    at = np.searchsorted(other, some)
    return some[(at < len(other)) & (other[np.minimum(at, len(other) - 1)] == some)]


def build(joined: str, starts: list[int]) -> PairIndex | None:
    """The index of the texts held one after the other in `joined`, text `i` at
    `joined[starts[i]:starts[i + 1] - 1]` followed by one NUL (a text's last character is paired
    with that NUL, so every character of a text starts a pair). None when there are too many texts."""
    texts = len(starts) - 1
    if texts >= MAX_TEXTS:
        return None
    text_bits = max(1, (texts - 1).bit_length())
    bounds = np.asarray(starts, dtype=np.int64)
    parts, first = [], 0
    while first < texts:
        last = int(np.searchsorted(bounds, bounds[first] + CHUNK_CHARS, side="right")) - 1
        last = min(max(last, first + 1), texts)
        parts.append(_chunk_pairs(joined, bounds, first, last, text_bits))
        first = last
    both = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    del parts
    both.sort()  # by pair, then by text: each pair's postings come out sorted
    pair = both >> np.uint64(text_bits)
    postings = (both & np.uint64((1 << text_bits) - 1)).astype(np.uint32)
    del both
    change = np.flatnonzero(pair[1:] != pair[:-1]) + 1
    heads = np.concatenate(([0], change)).astype(np.int64) if len(pair) else np.zeros(0, np.int64)
    return PairIndex(
        keys=pair[heads],
        offsets=np.concatenate((heads, [len(pair)])).astype(np.int64),
        postings=postings,
        texts=texts,
    )


def _chunk_pairs(joined: str, bounds: np.ndarray, first: int, last: int, text_bits: int) -> np.ndarray:
    """The distinct (pair, text) words of texts first..last-1, as 64-bit numbers."""
    lo, hi = int(bounds[first]), int(bounds[last])
    codes = np.frombuffer(joined[lo:hi].encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    owner = np.repeat(np.arange(first, last, dtype=np.uint64), np.diff(bounds[first : last + 1]))
    keep = codes[:-1] != 0  # a pair starts at a character, never at a text's closing NUL
    pairs = (codes[:-1][keep] << np.uint64(CODE_BITS)) | codes[1:][keep]
    return np.unique((pairs << np.uint64(text_bits)) | owner[:-1][keep])
