"""The double-entry ledger: plain functions that take a SQLAlchemy session and values.

Nothing here knows about Flask or HTTP, so the ledger can be tested and driven (CLI,
batch ingestion) without a web request.
"""
