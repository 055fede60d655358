"""registry: base registries, their runs, entries, members, golden attributes, conflicts and decisions.

Revision ID: registry_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0001"
down_revision = None
branch_labels = ("registry",)
depends_on = "0001_core"

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REGISTRIES, RUNS, ENTRIES, MEMBERS = "registries", "registry_runs", "registry_entries", "registry_members"
GOLDEN, CONFLICTS, DECISIONS = "registry_golden", "registry_conflicts", "registry_decisions"


def _id() -> sa.Column:
    return sa.Column("id", ID, nullable=False)


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _ref(owner: str, column: str, table: str, ondelete: str, *, nullable: bool) -> sa.Column:
    fk = sa.ForeignKey(f"{table}.id", ondelete=ondelete, name=op.f(f"fk_{owner}_{column}_{table}"))
    return sa.Column(column, ID, fk, nullable=nullable)


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{columns[0]}"))


def _index(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


INDEXES = {
    REGISTRIES: ("department_id",),
    RUNS: ("registry_id",),
    ENTRIES: ("registry_id", "state"),
    MEMBERS: ("entry_id", "dataset_id"),
    CONFLICTS: ("registry_id", "state"),
    DECISIONS: ("registry_id",),
}


def upgrade() -> None:
    op.create_table(
        REGISTRIES,
        _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=True),
        _ref(REGISTRIES, "department_id", "departments", "SET NULL", nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("id_prefix", sa.String(8), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _pk(REGISTRIES),
        _unique(REGISTRIES, "name"),
    )
    op.create_table(
        RUNS,
        _id(),
        _ref(RUNS, "registry_id", REGISTRIES, "CASCADE", nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        _ref(RUNS, "started_by_id", "users", "SET NULL", nullable=True),
        _pk(RUNS),
    )
    op.create_table(
        ENTRIES,
        _id(),
        _ref(ENTRIES, "registry_id", REGISTRIES, "CASCADE", nullable=False),
        sa.Column("entry_key", sa.String(40), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("retired_reason", sa.String(16), nullable=True),
        sa.Column("merged_into", sa.String(40), nullable=True),
        _ref(ENTRIES, "created_run_id", RUNS, "SET NULL", nullable=True),
        _ref(ENTRIES, "retired_run_id", RUNS, "SET NULL", nullable=True),
        _pk(ENTRIES),
        _unique(ENTRIES, "registry_id", "entry_key"),
    )
    op.create_table(
        MEMBERS,
        _id(),
        _ref(MEMBERS, "registry_id", REGISTRIES, "CASCADE", nullable=False),
        _ref(MEMBERS, "entry_id", ENTRIES, "CASCADE", nullable=False),
        sa.Column("record_key", sa.String(300), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        _ref(MEMBERS, "dataset_id", "datasets", "SET NULL", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("row", sa.String(200), nullable=False),
        _pk(MEMBERS),
        _unique(MEMBERS, "registry_id", "record_key"),
    )
    op.create_table(
        GOLDEN,
        _id(),
        _ref(GOLDEN, "entry_id", ENTRIES, "CASCADE", nullable=False),
        sa.Column("attribute", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("value_norm", sa.Text(), nullable=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("row", sa.String(200), nullable=False),
        sa.Column("record_key", sa.String(300), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        _ref(GOLDEN, "run_id", RUNS, "SET NULL", nullable=True),
        _pk(GOLDEN),
        _unique(GOLDEN, "entry_id", "attribute"),
    )
    op.create_table(
        CONFLICTS,
        _id(),
        _ref(CONFLICTS, "registry_id", REGISTRIES, "CASCADE", nullable=False),
        _ref(CONFLICTS, "entry_id", ENTRIES, "CASCADE", nullable=False),
        sa.Column("attribute", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        _ref(CONFLICTS, "run_id", RUNS, "SET NULL", nullable=True),
        _pk(CONFLICTS),
        _unique(CONFLICTS, "entry_id", "attribute"),
    )
    op.create_table(
        DECISIONS,
        _id(),
        _ref(DECISIONS, "registry_id", REGISTRIES, "CASCADE", nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _ref(DECISIONS, "decided_by_id", "users", "SET NULL", nullable=True),
        sa.Column("decided_at", TS, nullable=False),
        _pk(DECISIONS),
    )
    for table, columns in INDEXES.items():
        _index(table, *columns)


def downgrade() -> None:
    for table, columns in INDEXES.items():
        for column in columns:
            op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
    for table in (DECISIONS, CONFLICTS, GOLDEN, MEMBERS, ENTRIES, RUNS, REGISTRIES):
        op.drop_table(table)
