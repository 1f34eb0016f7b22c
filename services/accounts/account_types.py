"""The kinds of bank account the bank offers."""

ACCOUNT_TYPES = {
    "checking": "Everyday current account for payments and transfers.",
    "savings": "Interest-bearing savings account.",
    "credit_card": "Revolving credit card account.",
    "loan": "Loan account, repaid in instalments.",
    "investment": "Cash account of an investment portfolio.",
}
