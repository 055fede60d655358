"""Migrations and models agree, on every backend, and upgrading twice is harmless."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shuzhi.catalog.models import VocabTerm
from shuzhi.store.models import metadata


def test_models_match_migrations(db):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, metadata)
    # The full-text objects (FTS5 table, GIN index) are created by hand and are not models.
    diff = [d for d in diff if "dataset_fts" not in str(d) and "ix_dataset_search_docs_tsv" not in str(d)]
    assert diff == []


def test_upgrade_is_idempotent_and_seeds_vocabularies(db):
    db.upgrade()
    with db.session() as s:
        terms = s.query(VocabTerm).filter_by(vocab="share_type").order_by(VocabTerm.position).all()
        assert [t.label_zh for t in terms] == ["无条件共享", "有条件共享", "不予共享"]
        assert s.query(VocabTerm).filter_by(vocab="theme").count() >= 14


def test_needs_upgrade_tells_an_empty_store_from_a_current_one(settings):
    from shuzhi.store.db import Database

    fresh = Database(settings.db_url)
    assert fresh.needs_upgrade() is True
    fresh.upgrade()
    assert fresh.needs_upgrade() is False
    fresh.dispose()


def test_the_server_migrates_a_fresh_store_on_start(tmp_path):
    from shuzhi.config import Settings
    from shuzhi.store.db import Database
    from shuzhi.web.app import create_app

    settings = Settings(data_dir=tmp_path / "d", secret_key="x")
    create_app(settings)
    db = Database(settings.db_url)
    assert db.needs_upgrade() is False
    db.dispose()
