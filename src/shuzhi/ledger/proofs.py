"""Inclusion and consistency proof bundles, and their verification by anyone holding the public key."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from shuzhi.errors import NotFound
from shuzhi.i18n import M_
from shuzhi.ledger import log, merkle, sth
from shuzhi.ledger.models import TreeHead


def _head_for(session: Session, settings, seq: int, tree_size: int | None) -> TreeHead:
    """The signed tree head to prove against: the one of `tree_size` if asked for, else the latest,
    issuing a fresh one when the entry is newer than every head so far."""
    if tree_size is not None:
        head = sth.head_of_size(session, tree_size)
        if head is None:
            raise NotFound(
                M_("no signed tree head of size %(tree_size)s", tree_size=tree_size),
                where="tree_size",
            )
        return head
    head = sth.latest_tree_head(session)
    if head is None or head.tree_size <= seq:
        head = sth.issue_tree_head(session, settings)
    return head


def inclusion_bundle(session: Session, settings, seq: int, tree_size: int | None = None) -> dict:
    """Everything a client needs to check that entry `seq` is in the signed log."""
    entry = log.get_entry(session, seq)
    head = _head_for(session, settings, seq, tree_size)
    proof = log.inclusion_proof(session, seq, head.tree_size)
    return {
        "seq": seq,
        "leaf_index": seq,
        "entry": entry.entry,
        "leaf_hash": entry.leaf_hash.hex(),
        "tree_size": head.tree_size,
        "inclusion_path": [p.hex() for p in proof],
        "sth": sth.SignedHead.of(head).to_dict(),
    }


def consistency_bundle(session: Session, first: int, second: int) -> dict:
    return {
        "first": first,
        "second": second,
        "first_root": log.root_hash(session, first).hex(),
        "second_root": log.root_hash(session, second).hex(),
        "consistency_path": [p.hex() for p in log.consistency_proof(session, first, second)],
    }


def check_inclusion_bundle(bundle: dict, key: Ed25519PublicKey) -> list[str]:
    """The client-side check (docs/ledger.md): what fails, or [] when the entry is proven.

    1. the tree head is signed by the ledger key; 2. the leaf hash is SHA-256(0x00 || entry);
    3. the inclusion path leads from that leaf to the signed root (RFC 9162 §2.1.3.2)."""
    failures = []
    signed = sth.SignedHead.from_dict(bundle["sth"])
    if not signed.valid_under(key):
        failures.append(M_("tree head signature is not valid"))
    leaf = merkle.leaf_hash(bundle["entry"].encode("utf-8"))
    if leaf.hex() != bundle["leaf_hash"]:
        failures.append(M_("leaf hash does not match the entry"))
    path = [bytes.fromhex(p) for p in bundle["inclusion_path"]]
    if not merkle.verify_inclusion(bundle["leaf_index"], signed.tree_size, leaf, path, signed.root_hash):
        failures.append(M_("inclusion proof does not verify"))
    return failures
