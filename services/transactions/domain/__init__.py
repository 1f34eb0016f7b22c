"""The ledger service's domain: plain functions over a SQLAlchemy session and values, no Flask
or HTTP (the API is in api/, the wiring in app.py), so the CLI, the seed and the tests drive
it without a request.

- ledger/: the double-entry ledger: accounts mirrored from the accounts service, postings,
  transfers, reversals, holds, external transfers, batches, idempotency keys, statements,
  balance history, partitions, the integrity check and the data-quality report; errors.py
  names each broken rule with its status and problem code.
- books/: the bank's books: FX rates and pricing, the fee schedule, the chart of accounts,
  manual journal entries, fiscal periods and the trial balance.
- risk/: the risk rules on transfers, the facts they read, the posting path's screen and the
  review queue.
- insights/: money management on the posting path: categories and customers' rules,
  spending aggregates, budgets and insights.
- workflows/: the bank's automation: scheduled transfers, bills, rewards, and the run-due
  runner; each automated transfer goes the customer's own way (execute.py).
- publishing.py: how this package publishes events through the app it runs under.
"""
