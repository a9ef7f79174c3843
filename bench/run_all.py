"""Every benchmark in turn, each in its own process, then the lines that carry its result.

    .venv/bin/python bench/run_all.py [--quick] [NAME ...]

Each bench runs with its own defaults (the figures to report; tens of minutes in all, most of it
inbox_scale's million tasks), or with ``--quick`` with small arguments (about a minute: a check
that every bench still runs, not a measurement). NAMEs pick some of them. A bench's output is shown
as it runs; the summary at the end repeats the ratio and target lines of each. The run fails if a
bench fails; a bench that is not there, or that needs a PostgreSQL that is not reachable, is named
with the reason and skipped.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

BENCH = Path(__file__).resolve().parent
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"   # scale_out's --admin-url default


@dataclass(frozen=True)
class Bench:
    name: str
    quick: tuple[str, ...]     # arguments of a run of a few seconds
    summary: str               # what the lines that carry the result match
    postgres: bool = False     # needs PostgreSQL to measure anything


BENCHES = (
    Bench("engine_overhead", ("--instances", "1", "--rounds", "1"), r" / |skipped"),
    Bench("history_growth", ("--at", "2,20", "--samples", "2"), r"target"),
    Bench("inbox_scale", ("--tasks", "3000", "--open", "300", "--runs", "5"), r"p95"),
    Bench("inbox_page", ("--open", "300", "--runs", "3"), r"target|query alone"),
    Bench("storage", ("--instances", "2",), r"target|^total|^bytes per completed task"),
    Bench("scale_out", ("--instances", "6", "--seconds", "1", "--workers", "1,2"),
          r"workers: |lost or duplicated", postgres=True),
    Bench("replay", ("--instances", "2", "--rounds", "1"), r"× restore|^restore|^state_at|^reexecute"),
    Bench("audit_export", ("--events", "3000",), r"x the SELECT"),
    Bench("http_roundtrip", ("--instances", "2", "--open", "20", "--inbox-runs", "3", "--bare-instances", "2",
                             "--clients", "1,2", "--db", "sqlite"), r"^(sqlite|postgres): "),
)


@dataclass
class Outcome:
    bench: Bench
    status: str                # ok, FAILED (exit N), skipped: reason
    lines: list[str]
    seconds: float = 0.0


def postgres_missing() -> str | None:
    engine = create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 - any failure to connect means: no PostgreSQL here
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(err).__name__})"
    finally:
        engine.dispose()
    return None


def run(bench: Bench, quick: bool, no_postgres: str | None) -> Outcome:
    script = BENCH / f"{bench.name}.py"
    if not script.exists():
        return Outcome(bench, f"skipped: bench/{script.name} is not there", [])
    if bench.postgres and no_postgres:
        return Outcome(bench, f"skipped: {no_postgres}", [])
    command = [sys.executable, str(script), *(bench.quick if quick else ())]
    print(f"\n== {bench.name}: {' '.join(['python', f'bench/{script.name}', *command[2:]])}", flush=True)
    began = time.perf_counter()
    found: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          cwd=BENCH.parent) as process:
        for line in process.stdout:
            print(line, end="", flush=True)
            if re.search(bench.summary, line.strip()):
                found.append(line.rstrip())
    status = "ok" if process.returncode == 0 else f"FAILED (exit {process.returncode})"
    return Outcome(bench, status, found, time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small arguments: check that each runs")
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(b.name for b in BENCHES))
    args = parser.parse_args()
    unknown = set(args.names) - {b.name for b in BENCHES}
    if unknown:
        parser.error(f"no bench named {', '.join(sorted(unknown))}")
    chosen = [b for b in BENCHES if not args.names or b.name in args.names]
    no_postgres = postgres_missing() if any(b.postgres for b in chosen) else None
    outcomes = [run(bench, args.quick, no_postgres) for bench in chosen]

    print(f"\n== summary{' (--quick: small arguments, not a measurement)' if args.quick else ''}")
    for outcome in outcomes:
        took = f", {outcome.seconds:.0f} s" if outcome.seconds else ""
        print(f"{outcome.bench.name}: {outcome.status}{took}")
        for line in outcome.lines:
            print(f"    {line.strip()}")
    sys.exit(1 if any(o.status.startswith("FAILED") for o in outcomes) else 0)


if __name__ == "__main__":
    main()
