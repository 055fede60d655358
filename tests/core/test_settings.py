"""One settings object, from environment variables over shuzhi.toml over defaults."""

import re
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


# Typer `envvar=` options that may name a SHUZHI_ variable. Each is a secret handed to one command
# (so it need not be typed at a prompt or appear in the shell history), or the command line's own
# option for one run (its language), not a setting: settings belong in config.py. Adding a name here
# needs one of those reasons.
CLI_SECRET_ENVVARS = {
    "SHUZHI_ADMIN_PASSWORD",  # `shuzhi init`: the first admin's password
    "SHUZHI_NEW_USER_PASSWORD",  # `shuzhi user add`: the new user's password
    "SHUZHI_LANG",  # `shuzhi --lang`: the language this run of the command line prints in
}
ENVIRONMENT_READERS = {
    "cli/lang.py",  # the operating system's locale (LC_ALL, LC_MESSAGES, LANG): the command line's language
    "engine/worker.py",  # the environment handed on to a query worker process
}
_READS_SHUZHI_VARIABLE = re.compile(r"""(os\.environ(\.get)?\s*[\[(]|os\.getenv\s*\()\s*f?["']SHUZHI_""")
_ENVVAR_RE = re.compile(r"""envvar\s*=\s*[\[(]?\s*["'](SHUZHI_\w*)""")


def test_no_module_reads_the_environment():
    """Only config.py may read SHUZHI_* variables: everything else takes a Settings."""
    src = Path(__file__).resolve().parents[2] / "src" / "shuzhi"
    sources = {
        str(p.relative_to(src)): p.read_text("utf-8") for p in src.rglob("*.py") if p.name != "config.py"
    }
    offenders = [name for name, text in sources.items() if _READS_SHUZHI_VARIABLE.search(text)]
    assert offenders == []
    # and what reads the process environment at all, for other reasons, is known
    readers = {name for name, text in sources.items() if "os.environ" in text or "os.getenv" in text}
    assert readers <= ENVIRONMENT_READERS, sorted(readers - ENVIRONMENT_READERS)
    cli_envvars = {(name, var) for name, text in sources.items() for var in _ENVVAR_RE.findall(text)}
    assert {var for _, var in cli_envvars} <= CLI_SECRET_ENVVARS, sorted(cli_envvars)
    # the scan still sees the ones it allows, so a change of spelling cannot blind it
    assert {var for _, var in cli_envvars} == CLI_SECRET_ENVVARS


def test_an_unknown_display_time_zone_is_refused_naming_the_setting(monkeypatch, tmp_path):
    import pytest

    from shuzhi.errors import ConfigurationError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHUZHI_DISPLAY_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigurationError) as exc:
        load_settings()
    assert "display_timezone" in str(exc.value)
    monkeypatch.setenv("SHUZHI_DISPLAY_TIMEZONE", "Europe/Berlin")
    assert load_settings().display_timezone == "Europe/Berlin"
