#!/bin/sh
# Entrypoint of every FinovaBank service image: prepare the Prometheus multiprocess
# directory, then run the command (gunicorn by default, or `migrate`).
#
# gunicorn workers write their metrics as files under PROMETHEUS_MULTIPROC_DIR; files left by
# a previous run of this container (a restart keeps an emptyDir) would be summed into /metrics,
# so the directory is emptied before the server starts.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -maxdepth 1 -name '*.db' -delete
fi
exec "$@"
