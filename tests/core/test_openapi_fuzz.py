"""Every operation of the published OpenAPI document, fuzzed by schemathesis against a live server on each
store, with an admin's token, an analyst's and none: no server error, and every answer as the schema says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import SQLITE_ONLY, serving

pytestmark = pytest.mark.slow

schemathesis = pytest.importorskip("schemathesis")

SCHEMA_PATH = "/api/v1/openapi.json"
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "missing_required_header",
    "allow_header_conformance",
    "ignored_auth",
]
DATA_CHECKS = ["negative_data_rejection", "positive_data_acceptance", "unsupported_method"]

SEMANTIC_RULES = {
    # path: methods whose input has a rule no JSON Schema states, named in the operation's description
    "/api/v1/exchange/sql": ["POST"],  # the text must be one SELECT in DuckDB's dialect
    "/api/v1/datasets": ["POST"],  # temporal_start <= temporal_end; share_basis when share_type is none
    "/api/v1/datasets/{ref}": ["PATCH"],
    "/api/v1/opendata/statistics": ["POST"],  # a statistics spec: ε, δ, bounds, declared groups
    "/api/v1/quality/datasets/{dataset}/rules": [
        "PUT"
    ],  # each rule's kind, fields and parameters (docs/quality.md)
}
"""Operations where a schema-valid request may still be refused with 422, and only those."""

# Left out: use_after_free, ensure_resource_availability and object_level_authorization judge sequences
# of calls across resources (stateful links the schema does not declare); permissions are covered by
# tests of their own (tests/core/test_auth_everywhere.py, tests/security/).

EXAMPLES = 12
"""Generated cases per operation and phase: enough to reach every parameter's edges, bounded in time."""

BUDGET_S = 40
"""Time budget of one run (three runs per store)."""


@pytest.fixture
def live_api(app):
    """The app, over the test's own store, served by uvicorn on a free loopback port."""
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}"


def _st() -> list[str]:
    exe = shutil.which("st", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]


RUNS = [
    ("sqlite", None),
    ("sqlite", "root"),
    ("sqlite", "ana"),
    # On PostgreSQL the admin, who reaches every operation: what differs by store is how values are
    # kept and refused, not who may call (each run takes its whole time budget).
    pytest.param("postgresql", "root", marks=pytest.mark.pg),
]


@pytest.mark.parametrize(("backend", "caller"), RUNS)
def test_every_operation_holds_under_fuzzing(live_api, make_user, token_for, caller, tmp_path: Path):
    _fuzz(live_api, make_user, token_for, caller, tmp_path, CHECKS)


@SQLITE_ONLY  # the same rules on every store: one run is enough
def test_schema_valid_input_is_accepted_and_invalid_refused(live_api, make_user, token_for, tmp_path):
    _fuzz(live_api, make_user, token_for, "root", tmp_path, DATA_CHECKS)


def _fuzz(live_api, make_user, token_for, caller, tmp_path: Path, checks: list[str]) -> None:
    make_user("root", roles=("admin",))
    make_user("ana", roles=("analyst",))
    headers = ["-H", f"Authorization: {token_for(caller)['Authorization']}"] if caller else []
    if caller:
        # Revoking tokens by generated ids soon revokes the caller's own, and every later case would
        # then only test the 401; the operation is fuzzed in the run without a token.
        headers += ["--exclude-operation-id", "revoke_token_api_v1_tokens__token_id__delete"]
    report = tmp_path / "st.json"
    config = tmp_path / "schemathesis.toml"
    config.write_text(_semantic_rules_config())
    cmd = [
        *_st(),
        "--config-file",
        str(config),
        "run",
        live_api + SCHEMA_PATH,
        "--url",
        live_api,
        *headers,
        "--checks",
        ",".join(checks),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(BUDGET_S),
        # One at a time: the store is one test's, and the checks judge answers, not load.
        "--workers",
        "1",
        "--seed",
        "20240501",
        "--request-timeout",
        "30",
        # NUL is refused with 422 by design (no store keeps it; see tests/core/test_hostile_params.py);
        # schema patterns cannot say "no NUL" without slowing every string's generation.
        "--generation-allow-x00",
        "false",
        "--generation-with-security-parameters",
        "false",
        "--no-shrink",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=BUDGET_S * 4, cwd=tmp_path)
    out = done.stdout + done.stderr
    summary = json.loads(report.read_text()) if report.exists() else {}
    print(out[out.find("SUMMARY") - 200 :])  # operations tested, cases generated
    failures = out[out.find("FAILURES") : out.find("WARNINGS") if "WARNINGS" in out else out.find("SUMMARY")]
    assert done.returncode == 0, failures[:15000]
    assert summary, out[-3000:]


def _semantic_rules_config() -> str:
    """A schemathesis configuration that lets 422 count as acceptance on SEMANTIC_RULES' operations."""
    blocks = []
    for path, methods in SEMANTIC_RULES.items():
        blocks.append(
            "[[operations]]\n"
            f'include-path = "{path}"\n'
            f"include-method = {json.dumps(methods)}\n"
            "checks.positive_data_acceptance.expected-statuses = "
            '["2XX", "401", "403", "404", "409", "422", "429"]\n'
        )
    return "\n".join(blocks)
