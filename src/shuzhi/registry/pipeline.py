"""From raw records to a linkage in one call: the registry's kind decides the normalisation, then `link`.

    prepared = prepare(settings, records)    # derived columns added (person, enterprise) or none (generic)
    linkage = link(settings, prepared)       # shuzhi.registry.linkage, unchanged
    linkage = resolve(settings, records)     # the two at once

For people, a record that does not state a birth date or sex takes the ones its valid resident ID
number encodes (GB 11643: digits 7-14 are the birth date, digit 17 odd for men), so that records of
departments that keep only a name and an ID number can still be blocked and compared on them. An ID
number that fails its check still gives its birth date when those digits form a real date: a mistyped
digit elsewhere, the commonest error, leaves them right (and the comparison of dates weighs the rest).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.registry.linkage import Linkage, link
from shuzhi.registry.normalise import normalise_enterprises, normalise_people, parse_date
from shuzhi.registry.settings import RegistrySettings

# Record column filled from the resident ID when the record leaves it empty.
_FROM_RIC = {"birth_date_norm": "ric_birth_date", "sex_norm": "ric_sex"}


def id_birth_date(value: str | None) -> str | None:
    """The birth date written in a resident ID number's digits (7-14 of 18, 7-12 of 15 after 19),
    whether or not the number passes its check; None when they are not a date."""
    if value is None:
        return None
    text = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", value))
    if len(text) == 18 and text[:17].isdigit():
        return parse_date(text[6:14])
    if len(text) == 15 and text.isdigit():
        return parse_date("19" + text[6:12])
    return None


def _people(records: pa.Table) -> pa.Table:
    table = normalise_people(records)
    for column, encoded in _FROM_RIC.items():
        i = table.column_names.index(column)
        filled = pc.coalesce(table.column(column), table.column(encoded))
        table = table.set_column(i, table.schema.field(i), filled)
    if "ric" in table.column_names:
        i = table.column_names.index("birth_date_norm")
        written = pc.dictionary_encode(table.column("ric").cast(pa.string()).combine_chunks())
        dates = pa.array([id_birth_date(v) for v in written.dictionary.to_pylist()], pa.string())
        filled = pc.coalesce(table.column(i), dates.take(written.indices))
        table = table.set_column(i, table.schema.field(i), filled)
    return table


NORMALISE: dict[str, Callable[[pa.Table], pa.Table]] = {
    "person": _people,
    "enterprise": normalise_enterprises,
    "generic": lambda records: records,
}


def prepare(settings: RegistrySettings, records: pa.Table) -> pa.Table:
    """The records with the derived columns of the registry's kind added (a generic registry's records
    are returned as they are). Raw columns are kept; derived ones already present are recomputed."""
    return NORMALISE[settings.kind](records)


def resolve(settings: RegistrySettings, records: pa.Table) -> Linkage:
    """Raw records prepared and linked: `link(settings, prepare(settings, records))`."""
    return link(settings, prepare(settings, records))
