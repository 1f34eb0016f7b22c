"""The bank's books: FX rates, the fee schedule, the chart of accounts, manual journal
entries, fiscal periods and the trial balance. Flask-free; the API is in api/fx.py and
api/books.py, the schema in migration transactions_0007."""
