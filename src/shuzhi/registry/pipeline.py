"""From raw records to a linkage in one call: the registry's kind decides the normalisation, then `link`.

    prepared = prepare(settings, records)    # derived columns added (person, enterprise) or none (generic)
    linkage = link(settings, prepared)       # shuzhi.registry.linkage, unchanged
    linkage = resolve(settings, records)     # the two at once

For people, a record that does not state a birth date or sex takes the ones its valid resident ID
number encodes (GB 11643: digits 7-14 are the birth date, digit 17 odd for men), so that records of
departments that keep only a name and an ID number can still be blocked and compared on them.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.registry.linkage import Linkage, link
from shuzhi.registry.normalise import normalise_enterprises, normalise_people
from shuzhi.registry.settings import RegistrySettings

# Record column filled from the resident ID when the record leaves it empty.
_FROM_RIC = {"birth_date_norm": "ric_birth_date", "sex_norm": "ric_sex"}


def _people(records: pa.Table) -> pa.Table:
    table = normalise_people(records)
    for column, encoded in _FROM_RIC.items():
        i = table.column_names.index(column)
        filled = pc.coalesce(table.column(column), table.column(encoded))
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
