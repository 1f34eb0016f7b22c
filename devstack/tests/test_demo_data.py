"""`make up` loads demo data on its first start, and only then."""
import devstack.__main__ as devstack_main
from devstack.stack import migrate, prepare_databases
from sqlalchemy import create_engine, text

from services.common.sql import sqlalchemy_url


def count(url: str, table: str) -> int:
    engine = create_engine(sqlalchemy_url(url))
    with engine.connect() as connection:
        found = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return found


def test_demo_data_is_loaded_once(stores, tmp_path, monkeypatch, capsys):
    databases = prepare_databases(stores, prefix="demo_")
    migrate(databases, stores.mongo_url, "demo_preferences", log=lambda _m: None)
    monkeypatch.setattr(devstack_main, "DATA_DIR", tmp_path)
    monkeypatch.setenv("FINOVA_DEMO_CUSTOMERS", "5")
    monkeypatch.setenv("FINOVA_DEMO_TRANSACTIONS", "40")

    devstack_main._load_demo_data(databases)
    assert count(databases["accounts"].owner_url, "customers") == 5
    assert count(databases["transactions"].owner_url, "journal_entries") == 40
    assert "demo login" in capsys.readouterr().out

    devstack_main._load_demo_data(databases)  # the next `make up`
    assert "demo data: already loaded" in capsys.readouterr().out
    assert count(databases["transactions"].owner_url, "journal_entries") == 40
