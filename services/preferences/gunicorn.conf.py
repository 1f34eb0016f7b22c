# gunicorn -c services/preferences/gunicorn.conf.py "services.preferences.app:create_app()"
from services.common.gunicorn_defaults import child_exit, settings  # noqa: F401

globals().update(settings(default_port=8083))
