"""ISO 4217 currencies: moved to services/common/currency.py so every service shares one helper."""
from services.common.currency import all_currencies, minor_units, quantum  # noqa: F401

__all__ = ["all_currencies", "minor_units", "quantum"]
