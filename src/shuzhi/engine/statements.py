"""The statement node types no governed query may contain; imports only sqlglot, so the policy plane
and ingest's source check share the engine guard's list without loading an engine."""

from __future__ import annotations

from sqlglot import exp

STATEMENT_NODES: tuple[type[exp.Expression], ...] = (
    exp.DDL,
    exp.DML,
    exp.Command,
    exp.Set,
    exp.Pragma,
    exp.Copy,
    exp.Attach,
    exp.Detach,
    exp.Install,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Into,
    exp.LoadData,
    exp.Export,
    exp.Describe,
)
"""Statements that never run in a sandbox (the exchange policy refuses them too, with more)."""
