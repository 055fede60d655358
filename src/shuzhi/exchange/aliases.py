"""SQL-safe dataset aliases: a name every dataset can be queried by without quoting.

A dataset identifier may hold hyphens and dots (``hrss-social-insurance``), which SQL reads as
minus signs and schema separators unless the name is double-quoted. Each dataset therefore also
answers to an alias made of lower-case letters, digits and underscores:

* the identifier in lower case with every other character turned into ``_``
  (``hrss-social-insurance`` -> ``hrss_social_insurance``), prefixed ``d_`` when that would start
  with a digit or be an SQL keyword;
* an identifier that is already such a name is its own alias;
* when the alias would be taken — by another dataset's identifier or by an older dataset's alias —
  the dataset's id is appended (``a_b_17``).

Aliases are computed from the catalog (oldest dataset first), not stored: unique across all
datasets and identifiers by construction, and the same on every call for the same catalog. An
identifier always means its own dataset, so a new dataset whose identifier equals an existing
alias moves that alias to its ``_<id>`` form. An alias is only another name: the access decision
and every policy check are taken for the dataset it names, as if the identifier had been written.
"""

from __future__ import annotations

from shuzhi.catalog.names import assign, base_alias, plain_name

__all__ = ["assign", "base_alias", "catalog_aliases", "plain_name"]


def catalog_aliases(session) -> dict[int, str]:
    """Dataset id -> alias for every dataset in the catalog."""
    # Imported here: the policy plane imports `base_alias` and stays free of the catalog's models.
    from sqlalchemy import select

    from shuzhi.catalog.models import Dataset

    return assign([(i, ident) for i, ident in session.execute(select(Dataset.id, Dataset.identifier))])
