"""The kinds of bank account the bank offers, and the rules on opening them and on credit."""
from decimal import Decimal

ACCOUNT_TYPES = {
    "checking": "Everyday current account for payments and transfers.",
    "savings": "Interest-bearing savings account.",
    "credit_card": "Revolving credit card account.",
    "loan": "Loan account, repaid in instalments.",
    "investment": "Cash account of an investment portfolio.",
}

# Every type opens without credit: an admin grants a line later (PATCH /admin/accounts/{id}),
# after KYC for the types below. Opening at 1,000 let any self-registered customer mint credit.
OPENING_OVERDRAFT_LIMIT = Decimal("0")
DEFAULT_OVERDRAFT_LIMITS = {name: OPENING_OVERDRAFT_LIMIT for name in ACCOUNT_TYPES}
# What a customer who is not (yet) verified may open; the rest need KYC (403 kyc_required).
OPEN_WITHOUT_KYC = ("checking", "savings")
# A credit line on these needs a verified customer (409 kyc_required).
CREDIT_NEEDS_KYC = ("credit_card", "loan")
# Open (not closed) accounts per customer; the 11th is 409 account_limit_reached.
MAX_OPEN_ACCOUNTS = 10
