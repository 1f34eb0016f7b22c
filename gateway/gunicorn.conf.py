# gunicorn -c gateway/gunicorn.conf.py "gateway.app:create_app()"
from gateway.gunicorn_errors import install as _problem_errors
from services.common.gunicorn_defaults import child_exit, settings  # noqa: F401

globals().update(settings(default_port=8080))
_problem_errors()  # gunicorn's own 400/414/431 answers are problem+json too (the public entry)
