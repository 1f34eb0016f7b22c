"""Business rules of the accounts service: plain functions taking a Session and values."""
