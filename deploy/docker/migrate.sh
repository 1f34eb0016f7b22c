#!/bin/sh
# Schema migrations of the service this image runs (FINOVA_SERVICE, set by the Dockerfile).
#
#   migrate                       bring the schema to the newest version (same as: upgrade head)
#   migrate upgrade REV           PostgreSQL services (Alembic): up to REV
#   migrate downgrade REV         PostgreSQL services: back to REV (e.g. accounts_0001, or base)
#   migrate current               PostgreSQL services: print the applied revision
#
# accounts, transactions: DATABASE_URL must be the service's OWNER role URL (the app role may
# not alter tables). preferences: MONGO_URL must be a user that owns the database (dbOwner);
# MONGO_DB names it (default preferences). MongoDB migrations only go forward.
set -eu
service="${FINOVA_SERVICE:?FINOVA_SERVICE is not set}"
case "$service" in
    accounts|transactions)
        [ "$#" -gt 0 ] || set -- upgrade head
        exec python -m database.migrations.runner "$service" "$@"
        ;;
    preferences)
        if [ "$#" -gt 0 ] && [ "$1" != "upgrade" ]; then
            echo "migrate: preferences (MongoDB) migrations only go forward: use 'migrate' or 'migrate upgrade'" >&2
            exit 2
        fi
        exec python -m database.mongodb.migrate --db "${MONGO_DB:-preferences}"
        ;;
    *)
        echo "migrate: the $service image has no migrations" >&2
        exit 2
        ;;
esac
