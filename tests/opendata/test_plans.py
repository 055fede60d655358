"""Per-field masks and generalisation of a release: lengths kept, values hidden, nulls left null."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuzhi.errors import InvalidInput
from shuzhi.opendata.disclosure import Dates, Regions
from shuzhi.opendata.plans import REDACTED, generalise_column, mask_column

KEY = b"k" * 32
TEXTS = st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=30)


@given(TEXTS, st.integers(0, 15))
def test_keep_first_and_last_keep_n_characters_and_the_length(values, n):
    column = pa.chunked_array([pa.array(values, pa.string())])
    first = mask_column(column, f"keep_first:{n}", KEY, "f").to_pylist()
    last = mask_column(column, f"keep_last:{n}", KEY, "f").to_pylist()
    for v, a, b in zip(values, first, last, strict=True):
        if v is None:
            assert a is None and b is None
            continue
        assert len(a) == len(b) == len(v)
        kept = min(n, len(v))
        assert a[:kept] == v[:kept] and set(a[kept:]) <= {"*"}
        assert b[len(v) - kept :] == v[len(v) - kept :] and set(b[: len(v) - kept]) <= {"*"}


@given(TEXTS)
def test_redact_null_and_hash_hide_every_value(values):
    column = pa.chunked_array([pa.array(values, pa.string())])
    redacted = mask_column(column, "redact", KEY, "f").to_pylist()
    assert redacted == [None if v is None else REDACTED for v in values]
    assert mask_column(column, "null", KEY, "f").null_count == len(values)
    hashed = mask_column(column, "hash", KEY, "f").to_pylist()
    for v, h in zip(values, hashed, strict=True):
        assert (h is None) == (v is None) and (h is None or len(h) == 64)
    # the same value hashes the same within a key, differently under another
    assert len({h for h in hashed if h}) == len({v for v in values if v is not None})
    other = mask_column(column, "hash", b"x" * 32, "f").to_pylist()
    assert all(a != b for a, b in zip(hashed, other, strict=True) if a is not None)


def test_generalise_cuts_every_value_at_one_level():
    regions = pa.chunked_array([pa.array(["330102", "330106", None, "110101"])])
    assert generalise_column(regions, Regions(), 1, "r").to_pylist() == ["330100", "330100", None, "110100"]
    days = pa.chunked_array([pa.array(["2024-05-17", "2024-11-02"])])
    assert generalise_column(days, Dates(), 3, "d").to_pylist() == ["2024", "2024"]
    with pytest.raises(InvalidInput) as caught:
        generalise_column(regions, Regions(), 9, "r")
    assert caught.value.where == "plan.fields.r.level"


def test_unknown_masks_are_refused_naming_the_field():
    column = pa.chunked_array([pa.array(["a"])])
    for mask in ("rot13", "keep_first", "keep_last:x", ""):
        with pytest.raises(InvalidInput) as caught:
            mask_column(column, mask, KEY, "plan.fields.f")
        assert caught.value.where == "plan.fields.f"
