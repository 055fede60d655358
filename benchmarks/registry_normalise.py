"""Registry normalisation at scale: `normalise_people` over N person records of the demo city.

    .venv/bin/python benchmarks/registry_normalise.py [--rows 1000000] [--residents 300000]

Residents come from the demo generator; the records are drawn from them with replacement (a person
in several departments' datasets) and written with the demo's flaws: misspelt, traditional and
padded names, broken and 15-digit ID numbers, stale addresses, dates in three styles, sex as words
or GB/T 2261.1 codes, phones with and without +86. Prints the wall and CPU time of normalisation
alone (one process, one core) and the distinct values each column had.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.demo.flaws import corrupt_rics, stale_addresses, vary_person_names
from shuzhi.demo.geography import load_city
from shuzhi.demo.population import make_residents
from shuzhi.demo.tables import fmt_dates
from shuzhi.registry.normalise import normalise_people


def records(rows: int, residents: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    city = load_city()
    r = make_residents(rng, city, residents, dt.date(2026, 6, 30))
    idx = rng.integers(0, residents, rows)
    names, _ = vary_person_names(r.name[idx], 0.08, rng)
    rics, _ = corrupt_rics(r.ric[idx], 0.03, 0.02, rng)
    address, _ = stale_addresses(r.address[idx], r.previous_address[idx], r.district[idx], city, 0.15, rng)
    style = rng.integers(0, 3, rows)
    births = [fmt_dates(r.birth[idx], s) for s in ("slash", "compact", "cn")]
    birth = np.choose(style, births)
    sex = np.where(rng.random(rows) < 0.5, np.where(r.male[idx], "男", "女"), np.where(r.male[idx], "1", "2"))
    phone = r.phone[idx].astype(object)
    plus = rng.random(rows) < 0.2
    phone[plus] = np.char.add("+86 ", r.phone[idx][plus].astype(str))
    return pa.table(
        {
            "record_key": [f"bench#{i}" for i in range(rows)],
            "name": names.tolist(),
            "ric": rics.tolist(),
            "birth_date": birth.tolist(),
            "sex": sex.tolist(),
            "phone": [p or None for p in phone.tolist()],
            "address": address.tolist(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=300_000)
    args = parser.parse_args()
    started = time.perf_counter()
    table = records(args.rows, args.residents)
    built, cpu = time.perf_counter(), time.process_time()
    out = normalise_people(table)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    print(f"generated {args.rows:,} records of {args.residents:,} residents in {built - started:.1f} s")
    print(
        f"normalise_people: {done - built:.1f} s wall, {cpu:.1f} s CPU "
        f"({(done - built) / args.rows * 1e6:.1f} µs per record)"
    )
    for column in ("name", "ric", "birth_date", "phone", "address"):
        print(f"  {column}: {pc.count_distinct(table[column]).as_py():,} distinct")
    print(
        f"  ric_valid: {pc.sum(out['ric_valid']).as_py():,}; addr_region_code found: "
        f"{out.num_rows - out['addr_region_code'].null_count:,}"
    )


if __name__ == "__main__":
    main()
