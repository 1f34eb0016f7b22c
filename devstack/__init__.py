"""The local development stack: embedded stores, migrations and the four apps.

`make up` and `make test` use it; nothing here runs in production.
"""
