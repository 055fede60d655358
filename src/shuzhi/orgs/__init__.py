"""Organisations and people: departments, users, roles, API tokens, login sessions."""
