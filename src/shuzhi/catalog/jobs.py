"""The catalog's background job: load the search's dictionaries before the first search needs them."""

from __future__ import annotations

from shuzhi.catalog import search


def warm_search(ctx) -> None:
    """Segmentation, script folding and readings each load a dictionary on first use (about a
    second together); done at start, the first user's search does not pay for it."""
    search.warm()
    ctx.progress(1.0, "warm")
