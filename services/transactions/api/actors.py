"""Who the request acts for, as the ledger sees it."""
from services.common.service_auth import current_principal, require_customer

from ..domain.ledger.transfers import Actor


def customer_actor() -> Actor:
    return Actor(customer_id=require_customer())


def admin_actor() -> Actor:
    from services.common.service_auth import require_role
    principal = require_role("admin")
    return Actor(customer_id=principal.customer_id, is_admin=True)


def actor() -> Actor:
    """An admin acts as admin; anyone else as the signed-in customer."""
    principal = current_principal()
    if principal.has_role("admin"):
        return Actor(customer_id=principal.customer_id, is_admin=True)
    return customer_actor()


def visible_account(session, who: Actor, account_id: str):
    """A customer account the actor may read (an admin: any); another's answers as missing."""
    from ..domain.ledger.accounts import get_accounts
    from ..domain.ledger.errors import NotFound
    found = get_accounts(session, [account_id])
    if not found or found[0].kind != "customer" or not (who.is_admin or found[0].customer_id == who.customer_id):
        raise NotFound(f"Account {account_id} does not exist.")
    return found[0]
