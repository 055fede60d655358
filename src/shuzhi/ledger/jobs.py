"""The ledger's background job: sign a tree head when one is due."""

from __future__ import annotations

from shuzhi.ledger import sth


def sign_tree_head(ctx) -> None:
    """One signer however many processes run this at once: `issue_if_due` decides under the
    ledger lock, so the second finds the head the first just signed."""
    with ctx.db.write() as s:
        head = sth.issue_if_due(s, ctx.settings)
        note = f"tree size {head.tree_size}" if head is not None else "not due"
    ctx.progress(1.0, note)
