"""Indexes for raising notifications from events once, and for the unread inbox."""
from pymongo import ASCENDING, DESCENDING

VERSION = 2
DESCRIPTION = "notifications: unique event_key (idempotent alerts), unread listing"


def up(db):
    # One notification per (event, rule, subject): a redelivered event inserts nothing new.
    # Sparse, so notifications that do not come from an event need no key. (Not a partial
    # index: mongo-java-server stores partialFilterExpression but enforces uniqueness on
    # every document, missing keys included.)
    db.notifications.create_index(
        [("event_key", ASCENDING)], unique=True, sparse=True, name="event_key_unique")
    # ?unread=true and the unread count: read_at is null on unread notifications.
    db.notifications.create_index(
        [("customer_id", ASCENDING), ("read_at", ASCENDING), ("created_at", DESCENDING),
         ("_id", DESCENDING)], name="customer_unread_created_desc")
