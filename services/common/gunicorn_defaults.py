"""gunicorn settings shared by every service; each service's gunicorn.conf.py sets its port.

Workers and threads come from the environment so ops size them per pod; the defaults fit a
2-core development machine running all four apps at once.
"""
import os


def settings(default_port: int) -> dict:
    port = os.environ.get("PORT", str(default_port))
    host = os.environ.get("HOST", "127.0.0.1")
    return {
        "bind": f"{host}:{port}",
        "workers": int(os.environ.get("WEB_CONCURRENCY", "2")),
        "threads": int(os.environ.get("GUNICORN_THREADS", "4")),
        "worker_class": "gthread",
        "timeout": int(os.environ.get("GUNICORN_TIMEOUT", "30")),
        # On SIGTERM, finish in-flight requests before exiting (graceful shutdown).
        "graceful_timeout": int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20")),
        "keepalive": 5,
        "max_requests": int(os.environ.get("GUNICORN_MAX_REQUESTS", "0")),
        "accesslog": None,
        "errorlog": "-",
        "loglevel": os.environ.get("LOG_LEVEL", "info").lower(),
    }


def child_exit(server, worker) -> None:
    """Drop a dead worker's files in Prometheus multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
