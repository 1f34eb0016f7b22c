# gunicorn -c gateway/gunicorn.conf.py "gateway.app:create_app()"
from services.common.gunicorn_defaults import child_exit, settings  # noqa: F401

globals().update(settings(default_port=8080))
