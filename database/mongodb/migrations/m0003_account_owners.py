"""The account -> customer map that account events need to find whom to notify."""
from .helpers import ensure_collection

VERSION = 3
DESCRIPTION = "account_owners: who owns each account (from account.opened)"


def up(db):
    # _id is the account id, unique by construction: a redelivered account.opened upserts
    # the same document. No other index: the only lookup is by account id.
    ensure_collection(db, "account_owners", {"$jsonSchema": {
        "bsonType": "object",
        "required": ["_id", "customer_id"],
        "properties": {"_id": {"bsonType": "string"}, "customer_id": {"bsonType": "string"},
                       "recorded_at": {"bsonType": "date"}},
    }})
