"""One settings object, from environment variables over shuzhi.toml over defaults."""

from pathlib import Path

from shuzhi.config import load_settings


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for k in list(__import__("os").environ):
        if k.startswith("SHUZHI_"):
            monkeypatch.delenv(k)
    s = load_settings()
    assert s.data_dir == Path("shuzhi-data")
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("shuzhi-data/shuzhi.db")


def test_toml_then_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shuzhi.toml").write_text(
        'data_dir = "from-toml"\nport = 9000\n[ingest]\nmax_upload_bytes = 1234\n', encoding="utf-8"
    )
    monkeypatch.delenv("SHUZHI_DATA_DIR", raising=False)
    s = load_settings()
    assert s.data_dir == Path("from-toml") and s.port == 9000 and s.ingest.max_upload_bytes == 1234
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("SHUZHI_INGEST__MAX_UPLOAD_BYTES", "99")
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "postgresql+psycopg://u@h/db")
    s = load_settings()
    assert s.data_dir == tmp_path / "from-env" and s.ingest.max_upload_bytes == 99
    assert s.db_url == "postgresql+psycopg://u@h/db"


def test_session_secret_generated_once(tmp_path):
    s = load_settings(data_dir=tmp_path / "d", secret_key=None)
    first = s.session_secret()
    assert first == s.session_secret() and len(first) > 40
    assert (tmp_path / "d" / "keys" / "session-secret").stat().st_mode & 0o777 == 0o600


def test_no_module_reads_the_environment():
    """Only config.py may read SHUZHI_* variables: everything else takes a Settings."""
    src = Path(__file__).resolve().parents[2] / "src" / "shuzhi"
    offenders = [
        str(p.relative_to(src)) for p in src.rglob("*.py")
        if p.name != "config.py" and ("os.environ" in p.read_text("utf-8") or "os.getenv" in p.read_text("utf-8"))
        and "SHUZHI_" in p.read_text("utf-8")
    ]
    assert offenders == []
