"""What a customer's documents are before they change anything."""

DEFAULT_PREFERENCES = {
    "language": "en",
    "timezone": "UTC",
    "display_currency": "EUR",
    "theme": "system",
    "date_format": "YYYY-MM-DD",
    "dashboard_widgets": ["accounts", "recent_transactions", "notifications"],
}

_PUSH_AND_EMAIL = ["push", "email"]

DEFAULT_NOTIFICATION_SETTINGS = {
    "channels": {
        "email": {"address": None, "verified": False},
        "sms": {"address": None, "verified": False},
        "push": {"address": None, "verified": False},
    },
    "events": {
        "low_balance": {"enabled": True, "threshold": "100.00", "channels": _PUSH_AND_EMAIL},
        "large_transaction": {"enabled": True, "threshold": "1000.00",
                              "channels": _PUSH_AND_EMAIL},
        "suspicious_activity": {"enabled": True, "channels": ["push", "email", "sms"]},
        "budget_exceeded": {"enabled": True, "channels": _PUSH_AND_EMAIL},
        "bill_due": {"enabled": True, "channels": ["email"]},
        "scheduled_transfer_failed": {"enabled": True, "channels": _PUSH_AND_EMAIL},
        # Opt-in: earning points is good news, not something to interrupt a customer with.
        "rewards_earned": {"enabled": False, "channels": ["push"]},
        "account_changes": {"enabled": True, "channels": _PUSH_AND_EMAIL},
    },
    "quiet_hours": {"enabled": False, "start": "22:00", "end": "07:00", "timezone": "UTC"},
}
