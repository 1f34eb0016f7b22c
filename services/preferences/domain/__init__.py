"""Business rules of the preferences service: plain functions on a pymongo Database."""
