"""The kinds of bank account the bank offers, and each kind's default overdraft limit."""
from decimal import Decimal

ACCOUNT_TYPES = {
    "checking": "Everyday current account for payments and transfers.",
    "savings": "Interest-bearing savings account.",
    "credit_card": "Revolving credit card account.",
    "loan": "Loan account, repaid in instalments.",
    "investment": "Cash account of an investment portfolio.",
}

# In the account's currency. A credit card's limit is its credit line; the others start at
# zero and an admin decides on anything more (a later issue).
DEFAULT_OVERDRAFT_LIMITS = {
    "checking": Decimal("0"),
    "savings": Decimal("0"),
    "credit_card": Decimal("1000"),
    "loan": Decimal("0"),
    "investment": Decimal("0"),
}
