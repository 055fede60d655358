"""RFC 6962 hashing and proof shapes against Certificate Transparency's vectors and a naive oracle."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.ledger import ledger_naive as naive

from shuzhi.ledger import merkle

CT_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_LEAVES = [merkle.leaf_hash(x) for x in CT_INPUTS]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}


class MemoryNodes:
    """Perfect-subtree hashes computed from leaves in memory, fetched like the stored ones."""

    def __init__(self, leaves: list[bytes]):
        self.leaves = leaves
        self.reads = 0

    def fetch(self, keys):
        self.reads += len(keys)
        return {(lv, i): naive.mth(self.leaves[i << lv : (i + 1) << lv]) for lv, i in keys}


def _resolve(ranges, leaves):
    return merkle.resolve(ranges, MemoryNodes(leaves).fetch)


def test_empty_tree_root_is_sha256_of_nothing():
    assert merkle.root_of([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_ct_roots(size):
    leaves = CT_LEAVES[:size]
    assert merkle.root_of(leaves).hex() == CT_ROOTS[size - 1]
    assert naive.mth(leaves).hex() == CT_ROOTS[size - 1]
    assert _resolve([(0, size)], leaves)[0].hex() == CT_ROOTS[size - 1]


def test_ct_root_prefixes_named_in_issue():
    assert CT_ROOTS[0].startswith("6e340b9c") and CT_ROOTS[7].startswith("5dc9da79")


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_ct_inclusion_vectors(index, size):
    proof = _resolve(merkle.inclusion_ranges(index, size), CT_LEAVES[:size])
    assert [p.hex() for p in proof] == CT_INCLUSION[(index, size)]
    root = bytes.fromhex(CT_ROOTS[size - 1])
    assert merkle.verify_inclusion(index, size, CT_LEAVES[index], proof, root)


@pytest.mark.parametrize(("first", "second"), sorted(CT_CONSISTENCY))
def test_ct_consistency_vectors(first, second):
    proof = _resolve(merkle.consistency_ranges(first, second), CT_LEAVES[:second])
    assert [p.hex() for p in proof] == CT_CONSISTENCY[(first, second)]
    r1, r2 = (bytes.fromhex(CT_ROOTS[n - 1]) for n in (first, second))
    assert merkle.verify_consistency(first, second, r1, r2, proof)


def test_every_ct_proof_verifies_and_tampering_fails():
    for size in range(1, 9):
        root = bytes.fromhex(CT_ROOTS[size - 1])
        for i in range(size):
            proof = _resolve(merkle.inclusion_ranges(i, size), CT_LEAVES[:size])
            assert merkle.verify_inclusion(i, size, CT_LEAVES[i], proof, root)
            assert not merkle.verify_inclusion(i, size, CT_LEAVES[(i + 1) % 8], proof, root)
            if size > 1:
                assert not merkle.verify_inclusion((i + 1) % size, size, CT_LEAVES[i], proof, root)
            if proof:
                bad = [proof[0][::-1], *proof[1:]]
                assert not merkle.verify_inclusion(i, size, CT_LEAVES[i], bad, root)
                assert not merkle.verify_inclusion(i, size, CT_LEAVES[i], proof[:-1], root)
        for first in range(1, size + 1):
            r1 = bytes.fromhex(CT_ROOTS[first - 1])
            proof = _resolve(merkle.consistency_ranges(first, size), CT_LEAVES[:size])
            assert merkle.verify_consistency(first, size, r1, root, proof)
            if proof:
                assert not merkle.verify_consistency(first, size, r1, root, proof[:-1])
                assert not merkle.verify_consistency(first, size, root, r1, proof) or first == size


def test_index_out_of_range_is_refused():
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(8, 8)
    assert not merkle.verify_inclusion(8, 8, CT_LEAVES[0], [], bytes(32))
    assert not merkle.verify_consistency(3, 2, bytes(32), bytes(32), [])


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@given(size=st.integers(1, 300), data=st.data())
def test_proofs_equal_naive_recomputation(size, data):
    leaves = _leaves(size)
    root = naive.mth(leaves)
    assert merkle.root_of(leaves) == root
    index = data.draw(st.integers(0, size - 1))
    source = MemoryNodes(leaves)
    proof = merkle.resolve(merkle.inclusion_ranges(index, size), source.fetch)
    assert proof == naive.path(index, leaves)
    assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
    # O(log n) subtree reads, not a walk over the leaves
    assert source.reads <= 2 * size.bit_length()
    first = data.draw(st.integers(1, size))
    source = MemoryNodes(leaves)
    cproof = merkle.resolve(merkle.consistency_ranges(first, size), source.fetch)
    assert cproof == naive.proof(first, leaves)
    assert merkle.verify_consistency(first, size, naive.mth(leaves[:first]), root, cproof)
    assert source.reads <= 3 * size.bit_length()
