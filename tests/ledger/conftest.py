"""Fixtures of the ledger tests."""

from __future__ import annotations

import pytest
from tests.ledger.ledger_tamper import N, _fill

from shuzhi.ledger import sth


@pytest.fixture
def ledger(db, settings):
    """A log of N entries with tree heads at sizes 8 and N."""
    _fill(db, 8)
    with db.transaction() as s:
        sth.issue_tree_head(s, settings)
    _fill(db, N - 8, 8)
    with db.transaction() as s:
        sth.issue_tree_head(s, settings)
    return db
