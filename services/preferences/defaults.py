"""What a customer's preferences are before they change anything."""

DEFAULT_PREFERENCES = {
    "language": "en",
    "timezone": "UTC",
    "display_currency": "EUR",
    "theme": "system",
    "date_format": "YYYY-MM-DD",
    "dashboard_widgets": ["accounts", "recent_transactions", "notifications"],
}
