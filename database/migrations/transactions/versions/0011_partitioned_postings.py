"""Postings partitioned by month of created_at (PostgreSQL declarative partitioning).

The existing table is rebuilt with its data, in one transaction under an ACCESS EXCLUSIVE
lock, generically from the catalogue so nothing of it is forgotten:
- the new table is `LIKE` the old one (columns, defaults, CHECK and NOT NULL constraints),
  so a later migration's ADD COLUMN on postings keeps working on the partitioned table;
- monthly partitions `postings_yYYYYmMM` (UTC months) cover every existing row and the three
  months ahead, and `postings_default` catches anything else, so an insert never fails when
  the create-partitions command has not run (services/transactions/domain/ledger/partitions.py
  moves such rows out when it creates their month);
- the primary key becomes (id, created_at): a partitioned table's keys must include the
  partition key. ids still come from the same sequence, so they stay unique; nothing
  references postings by foreign key (checked here: the migration refuses otherwise);
- the indexes (ix_postings_entry, ix_postings_statement, ix_postings_statement_category),
  foreign keys, and triggers (postings_append_only, postings_balanced of 0003/0005,
  postings_guard of 0005), read from the catalogue before, are re-created on the parent, which
  gives every partition its own copy; the functions returning the postings row type
  (ledger_latest_posting) are re-created from their saved definitions.
Rows are copied before the triggers exist: they are already checked, and the chain guard
would reject re-inserting a chain's middle.

A caveat of partitioning: postings_guard moves a posting's created_at up to its account's
previous posting when the clock stepped back; if that crosses a UTC month boundary the
insert fails (PostgreSQL cannot move a row to another partition in a BEFORE trigger).

The downgrade rebuilds a plain table the same way (primary key (id) again).

Revision ID: transactions_0011
Revises: transactions_0010
Create Date: 2026-12-02
"""
from alembic import op

revision = "transactions_0011"
down_revision = "transactions_0010"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3
OLD = "postings_before_rebuild"

_CATALOGUE = {
    "indexes": """
        SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')
          FROM pg_index i
         WHERE i.indrelid = 'postings'::regclass
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                            AND c.conrelid = i.indrelid)
         ORDER BY 1""",
    "foreign_keys": """
        SELECT format('ALTER TABLE postings ADD CONSTRAINT %I %s', conname, pg_get_constraintdef(oid))
          FROM pg_constraint WHERE conrelid = 'postings'::regclass AND contype = 'f' AND conparentid = 0
         ORDER BY conname""",
    "triggers": """
        SELECT pg_get_triggerdef(oid), tgname, tgenabled
          FROM pg_trigger WHERE tgrelid = 'postings'::regclass AND NOT tgisinternal AND tgparentid = 0
         ORDER BY tgname""",
    "functions": """
        SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid)
          FROM pg_proc p
         WHERE p.prorettype = 'postings'::regtype OR 'postings'::regtype = ANY(p.proargtypes)
         ORDER BY 1""",
    "grants": """
        SELECT format('GRANT %s ON postings TO %I', a.privilege_type, r.rolname)
          FROM pg_class c, aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
         WHERE c.oid = 'postings'::regclass AND a.grantee <> c.relowner
         ORDER BY 1""",
    "sequences": """
        SELECT s.oid::regclass::text, a.attname
          FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
          JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.refobjid = 'postings'::regclass AND d.deptype = 'a'""",
    "keys": """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
         WHERE conrelid = 'postings'::regclass AND contype IN ('p', 'u', 'x')""",
    "referenced_by": """
        SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint
         WHERE confrelid = 'postings'::regclass AND contype = 'f' AND conparentid = 0""",
}


class _Raw:
    """The driver's own cursor: saved definitions hold '%' (RAISE formats) that no layer may parse."""

    def __init__(self):
        self.cursor = op.get_bind().connection.driver_connection.cursor()

    def exec_driver_sql(self, sql: str, params=None):
        return self.cursor.execute(sql, params)


def _read(conn) -> dict:
    return {name: [tuple(row) for row in conn.exec_driver_sql(sql).fetchall()] for name, sql in _CATALOGUE.items()}


def _columns(conn, table: str) -> str:
    names = [row[0] for row in conn.exec_driver_sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum", (table,)).fetchall()]
    return ", ".join(f'"{name}"' for name in names)


def _rebuild(partitioned: bool) -> None:
    conn = _Raw()
    conn.exec_driver_sql("LOCK TABLE postings IN ACCESS EXCLUSIVE MODE")
    saved = _read(conn)
    if saved["referenced_by"]:
        raise RuntimeError(f"postings is referenced by foreign keys {saved['referenced_by']}: "
                           "a partitioned table's id alone is not unique")
    expected = "PRIMARY KEY (id)" if partitioned else "PRIMARY KEY (id, created_at)"
    if saved["keys"] != [("postings_pkey", expected)]:
        raise RuntimeError(f"unexpected keys on postings: {saved['keys']}")
    for signature, _ in saved["functions"]:
        conn.exec_driver_sql(f"DROP FUNCTION {signature}")
    conn.exec_driver_sql(f"ALTER TABLE postings RENAME TO {OLD}")
    conn.exec_driver_sql(
        f"CREATE TABLE postings (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS "
        "INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING GENERATED)"
        + (" PARTITION BY RANGE (created_at)" if partitioned else ""))
    if partitioned:
        _create_months(conn)
    columns = _columns(conn, OLD)
    conn.exec_driver_sql(f"INSERT INTO postings ({columns}) SELECT {columns} FROM {OLD}")
    for sequence, column in saved["sequences"]:
        conn.exec_driver_sql(f'ALTER SEQUENCE {sequence} OWNED BY postings."{column}"')
    conn.exec_driver_sql(f"DROP TABLE {OLD}")  # RESTRICT: a view or anything else on it stops us
    conn.exec_driver_sql("ALTER TABLE postings ADD CONSTRAINT postings_pkey "
                         + ("PRIMARY KEY (id, created_at)" if partitioned else "PRIMARY KEY (id)"))
    for (statement,) in saved["indexes"]:
        conn.exec_driver_sql(statement)
    for (statement,) in saved["foreign_keys"]:
        conn.exec_driver_sql(statement)
    for _, definition in saved["functions"]:
        conn.exec_driver_sql(definition)
    for definition, name, enabled in saved["triggers"]:
        conn.exec_driver_sql(definition)
        if enabled == "D":
            conn.exec_driver_sql(f'ALTER TABLE postings DISABLE TRIGGER "{name}"')
    for (statement,) in saved["grants"]:
        conn.exec_driver_sql(statement)
    _analyze_filled(conn, partitioned)


def _analyze_filled(conn, partitioned: bool) -> None:
    """Statistics for the tables that hold rows, none for the empty ones. An empty table
    analyzed says "0 rows" until autovacuum looks again, and the planner then reads a
    growing month's partition by scan and sort instead of its index (the chain guard's
    latest-posting lookup went from 0.4 s to 4 s a batch, linearly, until autovacuum came);
    a table never analyzed is sized from its pages, as the plain table always was."""
    tables = ["postings"]
    if partitioned:
        tables = [row[0] for row in conn.exec_driver_sql(
            "SELECT c.oid::regclass::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'postings'::regclass ORDER BY 1").fetchall()]
    for table in tables:
        if conn.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
            conn.exec_driver_sql(f"ANALYZE {table}")


def _create_months(conn) -> None:
    """UTC months from the oldest row's to MONTHS_AHEAD past now (or past the newest row)."""
    months = conn.exec_driver_sql(f"""
        WITH span AS (
            SELECT date_trunc('month', coalesce(min(created_at), now()) AT TIME ZONE 'UTC') AS first,
                   date_trunc('month', greatest(coalesce(max(created_at), now()), now()) AT TIME ZONE 'UTC')
                       + interval '{MONTHS_AHEAD} months' AS last
              FROM {OLD})
        SELECT to_char(m, '"postings_y"YYYY"m"MM'), to_char(m, 'YYYY-MM-DD'),
               to_char(m + interval '1 month', 'YYYY-MM-DD')
          FROM span, generate_series(span.first, span.last, interval '1 month') AS m""").fetchall()
    for name, lower, upper in months:
        conn.exec_driver_sql(f"CREATE TABLE {name} PARTITION OF postings "
                             f"FOR VALUES FROM ('{lower} 00:00:00+00') TO ('{upper} 00:00:00+00')")
    conn.exec_driver_sql("CREATE TABLE postings_default PARTITION OF postings DEFAULT")


def upgrade() -> None:
    _rebuild(partitioned=True)


def downgrade() -> None:
    _rebuild(partitioned=False)
