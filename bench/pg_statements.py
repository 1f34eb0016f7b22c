"""Where a benchmark's PostgreSQL time goes: pg_stat_statements, per operation the bench sent.

The embedded server loads pg_stat_statements only when asked (`PG_STATEMENTS_SETTINGS` in
bench_stack); the counters are reset just before the measured run and read just after, so
the figures are the run's own. Execution time is what the server spent inside each statement
(planning included); the rest of the server's CPU per operation is parsing the wire protocol,
transaction start and commit, and WAL.
"""
from __future__ import annotations

import psycopg

# Restart-time setting: the library must be preloaded for the counters to exist.
PG_STATEMENTS_SETTINGS = {"shared_preload_libraries": "pg_stat_statements",
                          "pg_stat_statements.track": "all",
                          "pg_stat_statements.track_planning": "on"}


def enable(admin_url: str) -> None:
    """The view, in the admin's database: it shows every database's statements to a superuser."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def reset(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


def report(admin_url: str, database: str, operations: int, top: int = 25) -> str:
    """One database's statements per operation and its heaviest statements, one line each."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT s.calls, s.total_exec_time + s.total_plan_time AS ms, s.rows, "
            "       regexp_replace(s.query, '\\s+', ' ', 'g') "
            "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
            "WHERE d.datname = %s AND s.query NOT ILIKE '%%pg_stat_statements%%' "
            "ORDER BY ms DESC", (database,)).fetchall()
    if not operations or not rows:
        return "pg_stat_statements: nothing recorded"
    calls = sum(r[0] for r in rows)
    total_ms = sum(r[1] for r in rows)
    lines = [f"pg_stat_statements ({operations} operations): {calls / operations:.1f} statements and "
             f"{total_ms / operations:.3f} ms of execution per operation; heaviest:",
             "    calls/op  ms/op   mean ms  statement"]
    for count, ms, _rows, query in rows[:top]:
        lines.append(f"    {count / operations:8.2f} {ms / operations:6.3f} {ms / count:8.3f}  {query[:110]}")
    return "\n".join(lines)
