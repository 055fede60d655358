"""The auditor's read model: ledger entries told by name, and filters given by name."""
