"""Columns as integer codes: each row's value, each value's group at every level of its hierarchy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.opendata.disclosure.hierarchies import TOP, HierarchySpec

_NULL = "\x00"  # stands for a missing value while labels are sorted (no label can hold it)


@dataclass(frozen=True)
class Encoded:
    """One quasi-identifier: `codes[row]` is the row's value; `maps[level][value]` its group at that level,
    `labels[level][group]` the group's text (None for a missing value) and `ncp[level][group]` its loss."""

    column: str
    codes: np.ndarray
    maps: list[np.ndarray]
    labels: list[np.ndarray]
    ncp: list[np.ndarray]

    @property
    def height(self) -> int:
        return len(self.maps) - 1

    def row_groups(self, level: int) -> np.ndarray:
        return self.maps[level][self.codes]

    def released(self, level: int) -> pa.Array:
        """The column as released at `level`: one label per row."""
        return pc.take(pa.array(self.labels[level], pa.string()), pa.array(self.row_groups(level)))


def distinct(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Row codes into the column's distinct values (a missing value is one of them) and those values."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    enc = pc.dictionary_encode(arr, null_encoding="encode")
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), enc.dictionary


def encode(table: pa.Table, column: str, spec: HierarchySpec) -> Encoded:
    codes, values = distinct(table.column(column))
    missing = values.is_null().to_numpy(zero_copy_only=False)
    given = spec.labels(values.filter(pa.array(~missing)), column)
    levels = []
    for j, lab in enumerate(given):
        full = np.full(len(values), TOP if j == len(given) - 1 else _NULL, dtype=object)
        full[~missing] = lab
        levels.append(full)
    numbers = _numbers(values) if len(values) else None
    maps, labels, ncp = [], [], []
    for j, level in enumerate(levels):
        names, groups = np.unique(level.astype(str), return_inverse=True)
        maps.append(groups.astype(np.int64))
        labels.append(np.where(names == _NULL, None, names).astype(object))
        ncp.append(_group_loss(groups, len(names), numbers, missing, top=j == len(levels) - 1))
    return Encoded(column, codes, maps, labels, ncp)


def _numbers(values: pa.Array) -> np.ndarray | None:
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        return None
    return pc.cast(values, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)


def _group_loss(
    groups: np.ndarray, n_groups: int, numbers: np.ndarray | None, missing: np.ndarray, *, top: bool
) -> np.ndarray:
    """NCP of each group: the share of the column's range it spans (numbers), else of its distinct values."""
    if top:
        return np.ones(n_groups)
    present = ~missing
    if numbers is not None and present.any():
        x = numbers[present]
        lo = np.full(n_groups, np.inf)
        hi = np.full(n_groups, -np.inf)
        np.minimum.at(lo, groups[present], x)
        np.maximum.at(hi, groups[present], x)
        span = x.max() - x.min()
        loss = np.where(np.isfinite(lo), hi - lo, 0.0) / span if span > 0 else np.zeros(n_groups)
        return loss
    members = np.bincount(groups[present], minlength=n_groups).astype(float)
    total = max(int(present.sum()) - 1, 1)
    return np.maximum(members - 1, 0) / total


def combine(columns: list[np.ndarray], cards: list[int]) -> np.ndarray:
    """One int64 key per row for a tuple of codes (mixed radix), renumbered before the radix would overflow.
    A column of one code adds nothing and is passed over."""
    key = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    size = 1
    for col, card in zip(columns, cards, strict=True):
        if card <= 1:
            continue
        if size * card >= 2**62:
            uniq, key = np.unique(key, return_inverse=True)
            size = len(uniq)
        key *= card
        key += col
        size *= card
    return key
