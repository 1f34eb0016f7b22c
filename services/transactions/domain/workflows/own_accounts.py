"""The account a customer's standing order, bill or redemption names: theirs, or 404."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..ledger.accounts import LedgerAccount, get_accounts
from ..ledger.errors import AccountClosed, CurrencyMismatch, NotFound


def own_account(session: Session, customer_id: str, account_id: str) -> LedgerAccount:
    """The customer's own bank account; another customer's or the bank's answers as missing."""
    found = get_accounts(session, [account_id])
    if not found or found[0].customer_id != customer_id or found[0].kind != "customer":
        raise NotFound(f"Account {account_id} does not exist.", account_id=account_id)
    return found[0]


def check_pays_in(account: LedgerAccount, currency: str) -> None:
    """What can be known before a payment runs: it pays in the account's currency, from an
    account not closed. Funds, freezes and KYC are the posting path's, at each payment."""
    if account.currency != currency:
        raise CurrencyMismatch(f"Account {account.id} holds {account.currency}; a payment from it is in "
                               f"{account.currency}.", account_id=account.id)
    if account.status == "closed":
        raise AccountClosed("The account is closed.", account_id=account.id)
