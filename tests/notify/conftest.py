"""The exchange tests' small world (departments, people, datasets) for the notification tests."""

from tests.exchange.conftest import World, granted, world  # noqa: F401
