"""Events the accounts service publishes, and who subscribes to them.

Every account event carries the account's full snapshot with its version (interface 1), so
the ledger can apply them in order and ignore a late or repeated one.
"""

# The ledger mirrors every bank account, so it hears of each opening and change; the
# preferences service tells the owner (account opened, frozen, unfrozen, closed, new limit).
# The ledger also mirrors each customer's KYC status (who may send money to others).
EVENT_ROUTES = {
    "account.opened": ("transactions", "preferences"),
    "account.status_changed": ("transactions", "preferences"),
    "account.closed": ("transactions", "preferences"),
    "account.limit_changed": ("transactions", "preferences"),
    "customer.kyc_changed": ("transactions",),
}
