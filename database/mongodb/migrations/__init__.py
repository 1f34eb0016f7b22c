"""Versioned MongoDB migrations: mNNNN_name.py modules with VERSION, DESCRIPTION and up(db).

up(db) must be safe to run again: there are no transactions around a migration,
so a crash after up() but before it is recorded makes the next run repeat it.
"""
