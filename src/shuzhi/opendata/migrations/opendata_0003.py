"""opendata: a counter of changes to what the public listing shows, bumped by triggers.

Revision ID: opendata_0003
Revises: opendata_0002
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "opendata_0003"
down_revision = "opendata_0002"
branch_labels = None
depends_on = "core_0002"  # after the ids are widened: triggers are made on widened tables

TABLE = "opendata_listing_version"
BUMP = f"UPDATE {TABLE} SET version = version + 1 WHERE id = 1"
# On PostgreSQL, once per transaction: every update of the one row leaves a row version the next
# must step over until the transaction ends, so a bump per statement would make a transaction of n
# statements cost n². The flag is transaction-local (and undone with a rolled-back savepoint).
ONCE = (
    "IF current_setting('shuzhi.listing_bumped', true) IS DISTINCT FROM 'yes' THEN "
    f"{BUMP}; PERFORM set_config('shuzhi.listing_bumped', 'yes', true); END IF"
)
# Per table: the columns whose change can alter a published package or its resources (None: any).
WATCHED = {
    "opendata_releases": None,
    "datasets": (
        "identifier",
        "title_zh",
        "title_en",
        "description",
        "department_id",
        "theme",
        "keywords",
        "open_type",
        "licence",
        "contact_name",
        "contact_email",
        "update_frequency",
        "temporal_start",
        "temporal_end",
        "spatial",
    ),
    "dataset_fields": ("dataset_id", "name", "description"),
    "departments": ("code", "name_zh", "name_en"),
}
EVENTS = {"opendata_releases": ("INSERT", "UPDATE", "DELETE"), "datasets": ("UPDATE", "DELETE")}
EVENTS |= {"dataset_fields": ("INSERT", "UPDATE", "DELETE"), "departments": ("UPDATE",)}


def _triggers():
    for table, events in EVENTS.items():
        for event in events:
            yield f"opendata_listing_{table}_{event.lower()}", table, event, WATCHED[table]


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    op.execute(
        sa.text(f"INSERT INTO {TABLE} (id, version, token) VALUES (1, 0, :t)").bindparams(
            t=secrets.token_hex(16)
        )
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute(
            "CREATE FUNCTION opendata_listing_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {ONCE}; RETURN NULL; END $$"
        )
    for name, table, event, columns in _triggers():
        if sqlite:
            of = f" OF {', '.join(columns)}" if event == "UPDATE" and columns else ""
            op.execute(f"CREATE TRIGGER {name} AFTER {event}{of} ON {table} BEGIN {BUMP}; END")
        elif event == "UPDATE" and columns:
            # the comparison lives in the function's body, not the trigger's: a trigger naming columns
            # would forbid later migrations to change their types (64-bit ids)
            # as text: json has no equality (keywords)
            old = ", ".join(f"OLD.{c}::text" for c in columns)
            new = ", ".join(f"NEW.{c}::text" for c in columns)
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF ROW({old}) IS DISTINCT FROM ROW({new}) THEN {ONCE}; END IF; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} AFTER UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        else:
            # once per statement: a bulk change bumps once
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION opendata_listing_bump()"
            )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, table, event, columns in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}"))
        if not sqlite and event == "UPDATE" and columns:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS opendata_listing_bump()")
    op.drop_table(TABLE)
