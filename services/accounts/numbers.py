"""Account numbers: IBANs generated with schwifty, never hand-computed.

Scheme: United Kingdom format, GBkk FNVA SSSS SSAA AAAA AA, where FNVA is FinovaBank's
4-letter bank code, SSSSSS its sort code (IBAN_SORT_CODE, default 040004) and the 8-digit
account part comes from the database sequence account_number_seq, so numbers are unique
without retries. schwifty computes and validates the ISO 7064 mod 97-10 check digits.
"""
from __future__ import annotations

from schwifty import IBAN
from sqlalchemy import text
from sqlalchemy.orm import Session

BANK_CODE = "FNVA"
DEFAULT_SORT_CODE = "040004"


def account_number(serial: int, sort_code: str = DEFAULT_SORT_CODE) -> str:
    """The IBAN for a serial taken from account_number_seq."""
    return IBAN.generate("GB", bank_code=BANK_CODE, branch_code=sort_code, account_code=f"{serial:08d}").compact


def next_account_number(session: Session, sort_code: str = DEFAULT_SORT_CODE) -> str:
    return account_number(session.execute(text("SELECT nextval('account_number_seq')")).scalar_one(), sort_code)


def is_valid_iban(value: str) -> bool:
    try:
        IBAN(value)
    except ValueError:
        return False
    return True
