"""Operators' actions on the platform itself (its background jobs), each recorded in the audit ledger."""
