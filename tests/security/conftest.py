"""The exchange's test world, for the denial suite kept here beside the findings' regressions."""

from tests.exchange.conftest import granted, world  # noqa: F401 - fixtures shared with tests/exchange
