"""A registry's records: the shared version of each source, its columns mapped, keys stable across versions."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pytest
from tests.quality.conftest import add_dataset, add_version, world  # noqa: F401 (the fixture)

from shuzhi.errors import InvalidInput, NotFound
from shuzhi.quality import service as quality
from shuzhi.registry.sources import locate, read_records

RESIDENTS = pa.table(
    {
        "pid": ["R1", "R2", "R3"],
        "xm": ["王明", "李華", None],
        "sfz": ["11010519491231002X", "110105491231002", ""],
        "capital": ["100.5", "n/a", "3"],
    }
)


@dataclass
class Src:
    dataset: str
    key: str | None
    mapping: dict[str, str] = field(default_factory=lambda: {"name": "xm", "ric": "sfz"})


def _read(w, source):
    with w.db.read() as s:
        located = locate(s, w.settings, source)
    return located, read_records(located, source)


def test_records_carry_their_source_and_a_key_from_the_key_column(world):  # noqa: F811
    add_dataset(world.db, world.steward, "residents", RESIDENTS)
    add_version(world.db, world.settings, "residents", RESIDENTS, grades={})
    located, t = _read(
        world, Src("residents", "pid", {"name": "xm", "ric": "sfz", "registered_capital": "capital"})
    )
    assert located.version == 1
    assert t.column_names == [
        "record_key", "source_dataset", "source_version", "source_row", "name", "ric", "registered_capital"
    ]  # fmt: skip
    assert t.column("record_key").to_pylist() == ["residents#R1", "residents#R2", "residents#R3"]
    assert t.column("name").to_pylist() == ["王明", "李華", None]
    assert t.column("registered_capital").to_pylist() == [100.5, None, 3.0]  # read as numbers; junk is null
    assert set(t.column("source_version").to_pylist()) == {1}


def test_without_a_key_rows_are_keyed_by_their_values_and_keep_their_keys_in_a_new_version(world):  # noqa: F811
    twice = pa.concat_tables([RESIDENTS, RESIDENTS.slice(0, 1)])  # a duplicated row stays two records
    add_dataset(world.db, world.steward, "residents", twice)
    add_version(world.db, world.settings, "residents", twice, grades={})
    _, first = _read(world, Src("residents", None))
    keys = first.column("record_key").to_pylist()
    assert len(set(keys)) == 4 and keys[0] != keys[3]
    grown = pa.concat_tables(
        [
            twice,
            pa.table(
                {"pid": ["R9"], "xm": ["赵六"], "sfz": [None], "capital": [None]}, schema=RESIDENTS.schema
            ),
        ]
    )
    add_version(world.db, world.settings, "residents", grown, grades={})
    located, second = _read(world, Src("residents", None))
    assert located.version == 2
    assert second.column("record_key").to_pylist()[:4] == keys


def test_a_version_held_by_a_blocking_rule_is_not_read(world):  # noqa: F811
    add_dataset(world.db, world.steward, "residents", RESIDENTS)
    add_version(world.db, world.settings, "residents", RESIDENTS, grades={})
    with world.db.write() as s:
        quality.save_rules(
            s, world.steward, "residents", [{"kind": "not_blank", "field": "xm", "blocking": True}]
        )
    add_version(
        world.db, world.settings, "residents", RESIDENTS, grades={}
    )  # arrives under the rule: pending
    located, _ = _read(world, Src("residents", "pid"))
    assert located.version == 1


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (Src("residents", "pid", {"name": "姓名"}), "no column 姓名"),
        (Src("residents", "nope"), "no column nope"),
        (Src("residents", "xm"), "key column xm is empty in 1 rows"),
        (Src("residents", "capital", {"name": "capital"}), None),
    ],
)
def test_a_mapping_that_does_not_fit_the_version_is_refused_saying_which_column(world, source, says):  # noqa: F811
    add_dataset(world.db, world.steward, "residents", RESIDENTS)
    add_version(world.db, world.settings, "residents", RESIDENTS, grades={})
    if says is None:
        assert _read(world, source)[1].num_rows == 3
        return
    with pytest.raises(InvalidInput) as e:
        _read(world, source)
    assert says in str(e.value)
    assert e.value.where.startswith("sources[residents]")


def test_a_repeated_key_is_refused(world):  # noqa: F811
    table = RESIDENTS.set_column(0, "pid", pa.array(["R1", "R1", "R2"]))
    add_dataset(world.db, world.steward, "residents", table)
    add_version(world.db, world.settings, "residents", table, grades={})
    with pytest.raises(InvalidInput, match="repeats values"):
        _read(world, Src("residents", "pid"))


def test_an_unknown_dataset_is_not_found(world):  # noqa: F811
    with pytest.raises(NotFound):
        _read(world, Src("no_such", None))
