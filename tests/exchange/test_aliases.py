"""SQL-safe dataset aliases: how they are made (unique, deterministic), and that the policy reads an
alias as the very dataset it names — the same checks, the same refusals, nothing more."""

from __future__ import annotations

import pyarrow as pa
import pytest
from tests.exchange.conftest import add_dataset
from tests.exchange.policy_tables import SOCIAL, TABLES

from shuzhi.errors import Forbidden, InvalidInput, ShuzhiError
from shuzhi.exchange import aliases, service, share_requests
from shuzhi.exchange.policy import govern, parse_query

# -- how aliases are made ------------------------------------------------------------------


def test_an_alias_is_the_identifier_made_sql_safe():
    assert aliases.base_alias("hrss-social-insurance") == "hrss_social_insurance"
    assert aliases.base_alias("GA.RK-001") == "ga_rk_001"
    assert aliases.base_alias("2024-census") == "d_2024_census"  # a name cannot start with a digit
    assert aliases.base_alias("select") == "d_select"  # nor be a keyword
    assert aliases.base_alias("population") == "population"


def test_aliases_are_unique_and_an_identifier_keeps_its_own_name():
    catalog = [
        (1, "hrss-social-insurance"),
        (2, "hrss_social_insurance"),  # an identifier: it names itself, the older alias moves aside
        (3, "a-b"),
        (4, "a.b"),  # the same alias as 3: the newer one takes its id
        (5, "a_b_4"),  # ...even where that is an identifier too
        (6, "Population"),
        (7, "2024-x"),
    ]
    named = aliases.assign(catalog)
    assert named[2] == "hrss_social_insurance" and named[1] == "hrss_social_insurance_1"
    assert named[3] == "a_b" and named[4] != "a_b" and named[4].startswith("a_b_4")
    assert named[5] == "a_b_4" and named[6] == "population" and named[7] == "d_2024_x"
    identifiers = {ident.lower(): i for i, ident in catalog}
    # No alias is another dataset's identifier, and no two datasets share one.
    assert len(set(named.values())) == len(catalog)
    assert all(identifiers.get(alias, ds) == ds for ds, alias in named.items())
    # Every alias is a name SQL reads unquoted, and the same catalog gives the same aliases.
    assert all(aliases.plain_name(a) for a in named.values())
    assert aliases.assign(list(reversed(catalog))) == named


# -- the policy ----------------------------------------------------------------------------


def _rewrite(sql: str) -> str:
    return govern(sql, TABLES).sql


def test_the_alias_reads_exactly_what_the_quoted_identifier_reads():
    by_alias = _rewrite("SELECT person_id, amount FROM hrss_social_insurance WHERE amount > 5")
    by_identifier = _rewrite('SELECT person_id, amount FROM "hrss-social-insurance" WHERE amount > 5')
    assert by_alias.replace("hrss_social_insurance", "X") == by_identifier.replace(
        "hrss-social-insurance", "X"
    )
    assert "_sz_r4" in by_alias and 'amount" > 0' in by_alias  # the grant's own subquery and row filter
    assert govern("SELECT amount FROM HRSS_Social_Insurance", TABLES).datasets == {
        "hrss-social-insurance": ["amount"]
    }


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT employer FROM hrss_social_insurance",  # a field the grant leaves out
        "SELECT * FROM hrss_social_insurance",
        "SELECT s.employer FROM hrss_social_insurance AS s JOIN population AS p ON s.person_id = p.id_number",
    ],
)
def test_an_alias_grants_nothing_more(sql):
    quoted = sql.replace("hrss_social_insurance", '"hrss-social-insurance"')
    with pytest.raises(ShuzhiError) as by_alias:
        govern(sql, TABLES)
    with pytest.raises(ShuzhiError) as by_identifier:
        govern(quoted, TABLES)
    assert type(by_alias.value) is type(by_identifier.value)
    assert by_alias.value.message == by_identifier.value.message


def test_an_alias_is_not_known_without_its_table():
    only = {k: v for k, v in TABLES.items() if v is not SOCIAL}
    with pytest.raises(Forbidden, match="dataset not granted or unknown: hrss_social_insurance"):
        govern("SELECT amount FROM hrss_social_insurance", only)


def test_an_unquoted_hyphenated_name_points_at_itself_and_suggests_the_alias():
    with pytest.raises(InvalidInput) as e:
        parse_query("SELECT person_id\nFROM hrss-social-insurance")
    err = e.value
    assert err.detail == {"line": 2, "col": 10}
    assert err.message.splitlines()[1:] == ["FROM hrss-social-insurance", "         ^"]
    assert '"hrss-social-insurance"' in err.hint and "hrss_social_insurance" in err.hint
    assert err.to_dict()["line"] == 2 and err.to_dict()["col"] == 10


def test_a_dotted_name_is_refused_with_the_alias_to_write():
    with pytest.raises(Forbidden) as e:
        govern("SELECT amount FROM hrss.social", TABLES)
    assert "hrss_social" in e.value.hint


def test_the_caret_stands_under_the_position_past_wide_characters():
    with pytest.raises(InvalidInput) as e:
        parse_query('SELECT "姓名" FROM hrss-x')
    line, caret = e.value.message.splitlines()[1:]
    # 姓名 take two columns each in a monospaced font: the caret is under the '-'.
    assert caret.index("^") == line.index("-") + 2


# -- through the governed read -------------------------------------------------------------

SOCIAL_ROWS = pa.table(
    {
        "person_id": [f"P{i:04d}" for i in range(30)],
        "amount": [float(i * 10) for i in range(30)],
        "employer": [f"EMPLOYER-SECRET-{i}" for i in range(30)],
    }
)


@pytest.fixture
def social(world):
    """hrss-social-insurance (granted to RS: person_id, amount) and hrss-pension (not granted)."""
    add_dataset(
        world.db, world.settings, world.sc_steward, "hrss-social-insurance", SOCIAL_ROWS, "conditional", "SC"
    )
    add_dataset(world.db, world.settings, world.sc_steward, "hrss-pension", SOCIAL_ROWS, "conditional", "SC")
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(
                dataset="hrss-social-insurance", fields=["person_id", "amount"], purpose="核查"
            ),
            submit=True,
        )
        share_requests.approve_request(
            s,
            world.settings,
            world.sc_steward,
            req,
            share_requests.Approval(
                fields=["person_id", "amount"], row_filter="amount >= 100", masks={"person_id": "hash"}
            ),
        )
    return world


def _rows(world, principal, sql):
    read = service.run_sql(world.db, world.settings, principal, sql)
    with read:
        return [r for b in read.batches() for r in b.to_pylist()]


def test_a_granted_dataset_reads_the_same_by_alias_and_identifier(social):
    w = social
    by_alias = _rows(w, w.rs_analyst, "SELECT person_id, amount FROM hrss_social_insurance ORDER BY amount")
    by_identifier = _rows(
        w, w.rs_analyst, 'SELECT person_id, amount FROM "hrss-social-insurance" ORDER BY amount'
    )
    assert by_alias == by_identifier and len(by_alias) == 20  # the grant's row filter applies
    assert not {r["person_id"] for r in by_alias} & set(SOCIAL_ROWS["person_id"].to_pylist())  # hashed


@pytest.mark.parametrize(
    ("alias_sql", "identifier_sql"),
    [
        ("SELECT amount FROM hrss_pension", 'SELECT amount FROM "hrss-pension"'),  # no grant
        ("SELECT employer FROM hrss_social_insurance", 'SELECT employer FROM "hrss-social-insurance"'),
        ("SELECT name FROM secret_registry", 'SELECT name FROM "secret_registry"'),  # not shared
    ],
)
def test_an_alias_is_refused_exactly_like_its_identifier(social, alias_sql, identifier_sql):
    w = social
    with pytest.raises(Forbidden) as by_alias:
        _rows(w, w.rs_analyst, alias_sql)
    with pytest.raises(Forbidden) as by_identifier:
        _rows(w, w.rs_analyst, identifier_sql)
    assert by_alias.value.message == by_identifier.value.message


def test_the_unquoted_identifier_fails_with_the_alias_to_write(social):
    with pytest.raises(InvalidInput) as e:
        _rows(social, social.rs_analyst, "SELECT amount FROM hrss-social-insurance")
    assert "hrss_social_insurance" in e.value.hint and e.value.detail["col"] == 24


def test_a_new_identifier_cannot_take_over_an_existing_alias(social):
    """Another department registering `hrss_social_insurance` would silently point every query
    written with that alias at its own dataset: refused, nothing created, the alias unchanged."""
    from shuzhi.catalog.models import Dataset
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset
    from shuzhi.errors import Conflict

    world = social
    for taken in ("hrss_social_insurance", "HRSS_Social_Insurance"):
        with pytest.raises(Conflict, match="hrss-social-insurance"), world.db.transaction() as s:
            create_dataset(
                s,
                world.sc_steward,
                DatasetIn(identifier=taken, title_zh="冒名", department="SC", theme="safety"),
            )
    with world.db.read() as s:
        names = {d.identifier for d in s.query(Dataset)}
        assert not names & {"hrss_social_insurance", "HRSS_Social_Insurance"}
        assert "hrss_social_insurance" in aliases.catalog_aliases(s).values()
    assert _rows(world, world.rs_analyst, "SELECT amount FROM hrss_social_insurance")  # still the same data


def test_only_an_identifier_made_safe_can_own_a_name():
    from shuzhi.catalog.names import assign, may_be_alias_of

    rows = [(1, "hrss-social-insurance"), (2, "2024-census"), (3, "a-b"), (4, "A_B")]
    for ds_id, alias in assign(rows).items():
        ident = dict(rows)[ds_id]
        assert may_be_alias_of(alias, ident), (alias, ident)  # the filter never drops a real owner
    assert not may_be_alias_of("population", "hrss-social-insurance")
