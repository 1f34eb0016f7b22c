#!/bin/sh
# Create, or bring up to date, each PostgreSQL service's database, owner role and app role by
# running database/postgres/service_database.sql once per service. Idempotent: run it on every
# deploy; a password changed in the environment is applied to the role.
#
# Connects as a superuser (or a role with CREATEDB and CREATEROLE) through the libpq variables
# PGHOST, PGPORT, PGUSER, PGPASSWORD (and PGDATABASE, default postgres). Per service SERVICE in
# FINOVA_PG_SERVICES (default: accounts transactions) it reads SERVICE_OWNER_PASSWORD and
# SERVICE_APP_PASSWORD (upper case, e.g. ACCOUNTS_OWNER_PASSWORD) and creates the database
# SERVICE with the roles SERVICE_owner and SERVICE_app, on the server SERVICE_PGHOST when that
# is set (a server per service, as the Kubernetes prod overlay has), else on PGHOST. Passwords are handed to psql through
# \getenv, never on a command line. Needs psql 15 or newer (the image has 16).
set -eu

sql="${SERVICE_DATABASE_SQL:-/finova/service_database.sql}"
services="${FINOVA_PG_SERVICES:-accounts transactions}"
wait_seconds="${PROVISION_WAIT_SECONDS:-120}"
export PGDATABASE="${PGDATABASE:-postgres}"
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"

[ -r "$sql" ] || { echo "provision: cannot read $sql" >&2; exit 2; }

# The server may still be starting (a Job applied together with the database, or a restart).
wait_for() {
    waited=0
    until pg_isready -q -h "$1"; do
        if [ "$waited" -ge "$wait_seconds" ]; then
            echo "provision: PostgreSQL at $1 not ready after ${wait_seconds}s" >&2
            exit 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
}

for service in $services; do
    upper=$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')
    host=$(printenv "${upper}_PGHOST" || true)
    host="${host:-${PGHOST:-}}"
    [ -n "$host" ] || { echo "provision: neither ${upper}_PGHOST nor PGHOST is set" >&2; exit 2; }
    wait_for "$host"
    for kind in OWNER APP; do
        if [ -z "$(printenv "${upper}_${kind}_PASSWORD" || true)" ]; then
            echo "provision: ${upper}_${kind}_PASSWORD is not set" >&2
            exit 2
        fi
    done
    PGHOST="$host" psql -X -q -v ON_ERROR_STOP=1 \
        -v db="$service" -v owner="${service}_owner" -v app="${service}_app" \
        -c "\\getenv owner_password ${upper}_OWNER_PASSWORD" \
        -c "\\getenv app_password ${upper}_APP_PASSWORD" \
        -f "$sql"
    echo "provision: database $service, roles ${service}_owner and ${service}_app are in place on $host"
done
