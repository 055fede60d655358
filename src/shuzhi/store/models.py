"""Every registered domain's tables, gathered so migrations and checks see one metadata."""

from __future__ import annotations

from sqlalchemy import MetaData

from shuzhi.store.base import Base


def all_metadata() -> MetaData:
    """The metadata with the tables of every domain (each imports its models through `register_models`)."""
    from shuzhi.hooks import collect

    collect("register_models")
    return Base.metadata


def __getattr__(name: str):
    # `metadata` stays readable as a module attribute, loaded when first asked for.
    if name == "metadata":
        return all_metadata()
    raise AttributeError(name)
