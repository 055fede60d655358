"""Notifications: in-app messages to a user about the platform's events, and their e-mail."""
