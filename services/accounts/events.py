"""Events the accounts service publishes, and who subscribes to them."""

# The ledger mirrors every bank account, so it hears of each opening and status change;
# the preferences service tells the owner (account opened, frozen, unfrozen, closed).
EVENT_ROUTES = {
    "account.opened": ("transactions", "preferences"),
    "account.status_changed": ("transactions", "preferences"),
    "account.closed": ("transactions", "preferences"),
}
