"""Events the ledger publishes, and who subscribes to them."""

# The preferences service raises notifications (low balance, large transaction) from these.
EVENT_ROUTES = {
    "transfer.posted": ("preferences",),
}
