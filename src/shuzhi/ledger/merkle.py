"""RFC 6962 / RFC 9162 Merkle tree hashing, proof shapes and proof verification (pure functions).

Nothing here touches the database: a client that holds an entry, a proof and a signed tree head
can verify with this module alone (it needs only hashlib).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

NodeKey = tuple[int, int]
"""(level, index): the perfect subtree of 2**level leaves starting at leaf index * 2**level."""

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2): RFC 6962's k."""
    return 1 << ((n - 1).bit_length() - 1)


# -- shapes: which perfect subtrees make up a range, a path, a proof ------------------------------


def range_nodes(start: int, end: int) -> list[NodeKey]:
    """Perfect subtrees whose right fold is MTH(D[start:end]).

    Every range that RFC 6962's recursions produce starts at a multiple of a power of two at
    least as large as itself, so it splits, left to right, into aligned perfect subtrees of
    decreasing size (the binary digits of its length)."""
    keys: list[NodeKey] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ValueError(f"range [{start}, {end}) is not aligned")
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def fold_range(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect subtrees (left to right): the right fold of node_hash."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose MTHs form PATH(index, D[0:size]) (RFC 6962 §2.1.1), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[tuple[int, int]] = []
    start, n, m = 0, size, index
    while n > 1:
        k = split_point(n)
        if m < k:
            out.append((start + k, start + n))
            n = k
        else:
            out.append((start, start + k))
            start, n, m = start + k, n - k, m - k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose MTHs form PROOF(first, D[0:second]) (RFC 6962 §2.1.2), in proof order."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to {second}")
    if first == 0 or first == second:
        return []
    out: list[tuple[int, int]] = []
    start, n, m, complete = 0, second, first, True
    while m != n:
        k = split_point(n)
        if m <= k:
            out.append((start + k, start + n))
            n = k
        else:
            out.append((start, start + k))
            start, n, m, complete = start + k, n - k, m - k, False
    if not complete:
        out.append((start, start + n))
    out.reverse()
    return out


def resolve(
    ranges: Iterable[tuple[int, int]], fetch: Callable[[set[NodeKey]], dict[NodeKey, bytes]]
) -> list[bytes]:
    """MTH of each range, reading every needed perfect subtree hash in one fetch call (always made,
    even when nothing is needed)."""
    shapes = [range_nodes(a, b) for a, b in ranges]
    needed = {key for shape in shapes for key in shape}
    found = fetch(needed)  # even when empty: the fetch may also check the tree size
    missing = needed - found.keys()
    if missing:
        raise LookupError(f"stored tree lacks subtree hashes {sorted(missing)[:4]}")
    return [fold_range([found[k] for k in shape]) for shape in shapes]


# -- verification: RFC 9162 §2.1.3.2 and §2.1.4.2 -------------------------------------------------


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when `proof` shows the leaf hash `leaf` at `leaf_index` in the tree with `root`."""
    if not 0 <= leaf_index < tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first_size: int, second_size: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True when `proof` shows the tree of `first_size` is a prefix of the tree of `second_size`."""
    if not 0 <= first_size <= second_size:
        return False
    if first_size == second_size:
        return not proof and first_root == second_root
    if first_size == 0:
        # Every tree extends the empty one; RFC 9162 defines no proof for it.
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first_size & (first_size - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first_size - 1, second_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes held in memory (iterative, O(n)): for verification and bulk builds."""
    if not leaves:
        return EMPTY_ROOT
    frontier: list[tuple[int, bytes]] = []  # (level, hash) of completed perfect subtrees
    for h in leaves:
        level = 0
        while frontier and frontier[-1][0] == level:
            h = node_hash(frontier.pop()[1], h)
            level += 1
        frontier.append((level, h))
    return fold_range([h for _, h in frontier])
