"""Events the accounts service publishes, and who subscribes to them."""

# The ledger mirrors every bank account, so it hears of each opening and status change.
EVENT_ROUTES = {
    "account.opened": ("transactions",),
    "account.status_changed": ("transactions",),
    "account.closed": ("transactions",),
}
