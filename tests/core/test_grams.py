"""The pair index finds exactly the texts holding a word (with the `find` check of longer words)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.catalog import grams

ALPHABET = "人口社保医疗ab1 \n醫"  # few letters: words recur, pairs collide, texts share words
texts_ = st.lists(st.text(ALPHABET, max_size=12), max_size=30)
word_ = st.text(ALPHABET, min_size=1, max_size=4)


def _joined(texts: list[str]) -> tuple[str, list[int]]:
    starts, at = [0], 0
    for t in texts:
        at += len(t) + 1
        starts.append(at)
    return "\x00".join(texts) + "\x00", starts


def _found(index: grams.PairIndex, joined: str, starts: list[int], word: str) -> list[int]:
    found = index.candidates(word).tolist()
    if len(word) > 2:
        found = [i for i in found if joined.find(word, starts[i], starts[i + 1]) != -1]
    return found


@settings(max_examples=300, deadline=None)
@given(texts=texts_, words=st.lists(word_, min_size=1, max_size=5), chunk=st.sampled_from([1, 7, 10_000]))
def test_found_texts_are_exactly_those_holding_the_word(texts, words, chunk):
    grams.CHUNK_CHARS, saved = chunk, grams.CHUNK_CHARS  # small chunks: texts built a few at a time
    try:
        joined, starts = _joined(texts)
        index = grams.build(joined, starts)
    finally:
        grams.CHUNK_CHARS = saved
    for word in words + [t[:3] for t in texts if t]:
        truth = [i for i, t in enumerate(texts) if word in t]
        candidates = index.candidates(word).tolist()
        assert set(truth) <= set(candidates), word  # never a text missed
        if len(word) <= 2:
            assert candidates == truth, word  # pairs alone are exact for short words
        assert _found(index, joined, starts, word) == truth, word


def test_postings_are_sorted_distinct_and_the_word_with_nul_is_nowhere():
    joined, starts = _joined(["人口人口", "口人", "", "人"])
    index = grams.build(joined, starts)
    for k in range(len(index.keys)):
        posting = index.postings[index.offsets[k] : index.offsets[k + 1]]
        assert np.all(np.diff(posting.astype(np.int64)) > 0)
    assert index.candidates("人").tolist() == [0, 1, 3]
    assert index.candidates("人口").tolist() == [0] and index.candidates("口人").tolist() == [0, 1]
    assert index.candidates("人\x00").tolist() == [] and index.candidates("").tolist() == [0, 1, 2, 3]
    assert index.texts == 4 and index.nbytes > 0


def test_too_many_texts_build_no_index(monkeypatch):
    joined, starts = _joined(["a", "b", "c"])
    assert grams.build(joined, starts) is not None
    monkeypatch.setattr(grams, "MAX_TEXTS", 3)  # the real limit is 2**22 texts: too many to make here
    assert grams.build(joined, starts) is None


@given(
    some=st.lists(st.integers(0, 60), unique=True).map(sorted),
    other=st.lists(st.integers(0, 60), unique=True).map(sorted),
)
def test_intersect_is_the_common_numbers_in_order(some, other):
    got = grams.intersect(np.array(some, np.uint32), np.array(other, np.uint32))
    assert got.tolist() == sorted(set(some) & set(other))
