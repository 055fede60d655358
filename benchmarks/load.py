"""A bounded load generator on loopback: the server's mix at 1 and 8 clients, SQLite and PostgreSQL, 1 and 2 processes.

    .venv/bin/python benchmarks/load.py [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                        [--duration 20] [--clients 1,8] [--processes 1,2] [--scale 0.05]

For each store it builds a small demo city (`shuzhi demo --no-serve`) into a temporary directory
(PostgreSQL: a throwaway schema, dropped at the end), has an analyst of one department ask for a
dataset of another and that department's steward approve it, then starts the server as uvicorn
with the app factory and drives it from client threads, each with its own connection, for a fixed
time per cell. The mix, in turn per client: catalog search (API), the dataset page (HTML), a
governed aggregate (POST /exchange/sql under the grant's masks) and a page of rows. Every request
is timed; anything but 2xx, or no answer within the timeout, counts as an error. Only 127.0.0.1.

Printed: one row per cell (requests/s, p50/p95/p99 over the mix, errors), then per endpoint, then the
named baseline: SQLite's throughput over PostgreSQL's at 8 clients.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SHUZHI = [sys.executable, "-c", "from shuzhi.cli import main; main()"]

DATASET = "hz-psb-population"  # owned by HZ-PSB, shared on condition: reads need a grant
ANALYST = ("hrss.analyst", "Demo!hrss-analyst")  # HZ-HRSS asks for it
STEWARD = ("psb.steward", "Demo!psb-steward")  # HZ-PSB approves
ADMIN = ("admin", "Demo!admin-2026")
CLIENT_PASSWORD = "Load!analyst-2026"
# Each client is a user of its own in the analyst's department (the grant is the department's):
# one user's concurrent governed queries are capped by design, and 8 clients are 8 people.
FIELDS = ["人员编号", "姓名", "性别", "出生日期", "民族", "人口状态"]
AGGREGATE = f'SELECT 性别, 民族, COUNT(*) AS n FROM "{DATASET}" GROUP BY 性别, 民族 ORDER BY n DESC'
SEARCHES = ["人口", "企业", "登记", "信用", "社会保险"]
ENDPOINTS = ("search", "page", "aggregate", "rows")


@dataclass
class Sample:
    endpoint: str
    seconds: float
    ok: bool


@dataclass
class Cell:
    backend: str
    processes: int
    clients: int
    wall: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    skipped: str | None = None
    first_errors: list[str] = field(default_factory=list)

    def rate(self) -> float:
        return len(self.samples) / self.wall if self.wall else 0.0

    def errors(self, endpoint: str | None = None) -> int:
        return sum(1 for s in self.samples if not s.ok and endpoint in (None, s.endpoint))

    def latencies(self, endpoint: str | None = None) -> list[float]:
        return [s.seconds for s in self.samples if endpoint in (None, s.endpoint)]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]  # nearest rank


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# -- stores -----------------------------------------------------------------------------------


class PgSchema:
    """A throwaway schema in the given database, reached through search_path."""

    def __init__(self, url: str):
        self.base = url
        self.name = f"shuzhi_load_{uuid.uuid4().hex[:10]}"
        self._run(f'CREATE SCHEMA "{self.name}"')
        sep = "&" if "?" in url else "?"
        self.url = f"{url}{sep}options={quote(f'-csearch_path={self.name}')}"

    def _run(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.base)
        with engine.begin() as conn:
            conn.execute(text(sql))
        engine.dispose()

    def drop(self) -> None:
        self._run(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


def build_demo(env: dict, scale: float) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [*SHUZHI, "demo", "--no-serve", "--scale", str(scale)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return time.perf_counter() - t0


# -- server -----------------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict, processes: int, log: Path):
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log = log
        cmd = [
            sys.executable, "-m", "uvicorn", "shuzhi.web.app:create_app", "--factory",
            "--host", HOST, "--port", str(self.port), "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        if processes > 1:
            cmd += ["--workers", str(processes)]
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60.0) -> str | None:
        """None when it answers; otherwise why not (it exited, or never answered)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"exited with {self.proc.returncode}: {self.tail()}"
            try:
                if httpx.get(f"{self.base}/api/v1/ledger/public-key", timeout=2).status_code == 200:
                    return None
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        return "did not answer within the start-up timeout"

    def tail(self, n: int = 600) -> str:
        self._out.flush()
        return self.log.read_bytes()[-n:].decode(errors="replace").strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # uvicorn's supervisor and its workers
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()


def token(base: str, username: str, password: str) -> str:
    r = httpx.post(
        f"{base}/api/v1/tokens", json={"username": username, "password": password, "name": "load"}, timeout=30
    )
    r.raise_for_status()
    return r.json()["token"]


def grant_access(base: str, max_clients: int) -> int:
    """The analyst's department asks for the dataset, the owner's steward approves with masks; client users."""
    analyst = {"Authorization": f"Bearer {token(base, *ANALYST)}"}
    steward = {"Authorization": f"Bearer {token(base, *STEWARD)}"}
    body = {"dataset": DATASET, "fields": FIELDS, "purpose": "负载测试 / load benchmark"}
    r = httpx.post(f"{base}/api/v1/exchange/requests", json=body, headers=analyst, timeout=30)
    r.raise_for_status()
    approval = {"reason": "负载测试 / load benchmark", "masks": {"姓名": "keep_first:1", "出生日期": "year"}}
    r = httpx.post(
        f"{base}/api/v1/exchange/requests/{r.json()['id']}/approve",
        json=approval,
        headers=steward,
        timeout=30,
    )
    r.raise_for_status()
    admin = {"Authorization": f"Bearer {token(base, *ADMIN)}"}
    for n in range(max_clients):
        user = {"username": f"load.analyst{n}", "password": CLIENT_PASSWORD, "department": "HZ-HRSS",
                "roles": ["analyst"]}  # fmt: skip
        httpx.post(f"{base}/api/v1/users", json=user, headers=admin, timeout=30).raise_for_status()
    return r.json()["grant"]["grant_id"]


# -- clients ----------------------------------------------------------------------------------


def mix(base: str, grant_id: int):
    """The four requests of the mix, as (name, method, url, kwargs)."""
    rows = f"{base}/api/v1/exchange/datasets/{DATASET}/rows"
    return [
        ("search", lambda k: ("GET", f"{base}/api/v1/datasets", {"params": {"q": SEARCHES[k % len(SEARCHES)]}})),
        ("page", lambda k: ("GET", f"{base}/datasets/{DATASET}", {"headers": {"Accept": "text/html"}})),
        (
            "aggregate",
            lambda k: ("POST", f"{base}/api/v1/exchange/sql", {"json": {"sql": AGGREGATE, "grant_ids": {DATASET: grant_id}}}),
        ),
        (
            "rows",
            lambda k: ("GET", rows, {"params": {"fields": ",".join(FIELDS), "limit": 100, "offset": (k * 100) % 1000, "grant_id": grant_id}}),
        ),
    ]  # fmt: skip


def drive(base: str, auths: list[str], grant_id: int, clients: int, duration: float, timeout: float) -> Cell:
    cell = Cell("", 0, clients)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]
    requests = mix(base, grant_id)

    def client(n: int) -> None:
        out: list[Sample] = []
        errors: list[str] = []
        with httpx.Client(headers={"Authorization": f"Bearer {auths[n]}"}, timeout=timeout) as http:
            start.wait()
            k = n  # clients start at different points of the mix
            while time.perf_counter() < stop_at[0]:
                name, make = requests[k % len(requests)]
                method, url, kwargs = make(k // len(requests))
                t0 = time.perf_counter()
                try:
                    r = http.request(method, url, **kwargs)
                    ok = 200 <= r.status_code < 300
                    if not ok:
                        errors.append(f"{name} {r.status_code} {r.text[:200]}")
                except httpx.HTTPError as e:
                    ok = False
                    errors.append(f"{name} {type(e).__name__}")
                out.append(Sample(name, time.perf_counter() - t0, ok))
                k += 1
        with lock:
            cell.samples.extend(out)
            cell.first_errors.extend(errors[:3])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + duration
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    cell.wall = time.perf_counter() - t0  # to the last answer, so a slow tail counts
    return cell


def warm(base: str, auth: str, grant_id: int) -> None:
    """Each endpoint a few times first: query workers, templates and caches start before timing."""
    with httpx.Client(headers={"Authorization": f"Bearer {auth}"}, timeout=60) as http:
        for k in range(3):
            for _name, make in mix(base, grant_id):
                method, url, kwargs = make(k)
                http.request(method, url, **kwargs).raise_for_status()


# -- run --------------------------------------------------------------------------------------


def run_backend(backend: str, args, pg_url: str | None, cells: list[Cell]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"shuzhi-load-{backend}-"))
    schema = PgSchema(pg_url) if backend == "postgresql" else None
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUZHI_")}
    env.update(
        SHUZHI_DATA_DIR=str(tmp / "data"),
        SHUZHI_CONFIG=str(tmp / "none.toml"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")])),
    )
    if schema:
        env["SHUZHI_DATABASE_URL"] = schema.url
    try:
        took = build_demo(env, args.scale)
        print(f"[{backend}] demo city at scale {args.scale} built in {took:.0f} s", flush=True)
        grant_id = None
        for processes in args.processes:
            server = Server(env, processes, tmp / f"server-{processes}.log")
            try:
                why = server.wait_ready()
                if why:
                    for clients in args.clients:
                        cells.append(Cell(backend, processes, clients, skipped=why))
                    print(f"[{backend}] {processes} process(es): server refused: {why}", flush=True)
                    continue
                if grant_id is None:
                    grant_id = grant_access(server.base, max(args.clients))
                auths = [
                    token(server.base, f"load.analyst{n}", CLIENT_PASSWORD) for n in range(max(args.clients))
                ]
                warm(server.base, auths[0], grant_id)
                for clients in args.clients:
                    cell = drive(server.base, auths, grant_id, clients, args.duration, args.timeout)
                    cell.backend, cell.processes = backend, processes
                    cells.append(cell)
                    print(
                        f"[{backend}] {processes} proc × {clients} clients: {cell.rate():.1f} req/s, "
                        f"p99 {pct(cell.latencies(), 99) * 1000:.0f} ms, {cell.errors()} errors "
                        f"(load {os.getloadavg()[0]:.2f})",
                        flush=True,
                    )
                    for line in cell.first_errors[:5]:
                        print(f"    e.g. {line}", flush=True)
            finally:
                server.stop()
    finally:
        if schema:
            schema.drop()
        shutil.rmtree(tmp, ignore_errors=True)


def ms(v: float) -> str:
    return "–" if v != v else f"{v * 1000:.0f}"


def report(cells: list[Cell]) -> None:
    print("\n| store | processes | clients | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in cells:
        if c.skipped:
            print(f"| {c.backend} | {c.processes} | {c.clients} | skipped: {c.skipped[:80]} | | | | | |")
            continue
        lat = c.latencies()
        print(
            f"| {c.backend} | {c.processes} | {c.clients} | {len(c.samples)} | {c.rate():.1f} | "
            f"{ms(pct(lat, 50))} | {ms(pct(lat, 95))} | {ms(pct(lat, 99))} | {c.errors()} |"
        )
    print("\nper endpoint, p50 / p99 ms (errors):\n")
    print("| store | processes | clients | " + " | ".join(ENDPOINTS) + " |")
    print("|---|---|---|" + "---|" * len(ENDPOINTS))
    for c in cells:
        if c.skipped:
            continue
        parts = []
        for e in ENDPOINTS:
            lat = c.latencies(e)
            parts.append(f"{ms(pct(lat, 50))} / {ms(pct(lat, 99))} ({c.errors(e)})")
        print(f"| {c.backend} | {c.processes} | {c.clients} | " + " | ".join(parts) + " |")
    print()
    by = {(c.backend, c.processes, c.clients): c for c in cells if not c.skipped}
    for processes in sorted({c.processes for c in cells}):
        for clients in sorted({c.clients for c in cells}):
            lite, pg = by.get(("sqlite", processes, clients)), by.get(("postgresql", processes, clients))
            if lite and pg and pg.rate():
                print(
                    f"SQLite / PostgreSQL throughput, {processes} process(es), {clients} clients: "
                    f"{lite.rate() / pg.rate():.2f}× ({lite.rate():.1f} vs {pg.rate():.1f} req/s)"
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--pg-url",
        default=os.environ.get("SHUZHI_TEST_PG_URL"),
        help="PostgreSQL database to put a throwaway schema in",
    )
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per cell")
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--processes", default="1,2")
    ap.add_argument("--scale", type=float, default=0.05, help="demo city scale (1.0 ≈ 50,000 residents)")
    ap.add_argument("--timeout", type=float, default=30.0, help="a request not answered by then is an error")
    args = ap.parse_args()  # fmt: skip
    args.clients = [int(x) for x in args.clients.split(",")]
    args.processes = [int(x) for x in args.processes.split(",")]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "postgresql" in backends and not args.pg_url:
        print("no --pg-url (or SHUZHI_TEST_PG_URL): PostgreSQL skipped", file=sys.stderr)
        backends.remove("postgresql")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    cells: list[Cell] = []
    t0 = time.perf_counter()
    for backend in backends:
        run_backend(backend, args, args.pg_url, cells)
    report(cells)
    print(
        f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; whole run {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
