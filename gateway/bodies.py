"""A body sent without Content-Length (chunked) is held to MAX_CONTENT_LENGTH like any other.

werkzeug stops reading a streamed body at the limit without saying so (LimitedStream
returns exactly MAX_CONTENT_LENGTH bytes), so a 1.1 MiB chunked body would reach the
handlers cut short, as invalid JSON or worse. This middleware reads such a body once, up to
one byte past the limit: over it, the request is refused 413 `payload_too_large` (neutered
and answered by paths.py's before_request, like a refused path); within it, the body is
handed on with its Content-Length, as if the client had sent one.
"""
from __future__ import annotations

import io

from services.common.errors import Problem

from .paths import neutered

CHUNK = 64 * 1024


class ChunkedBodyLimit:
    def __init__(self, wsgi_app, max_bytes: int):
        self.wsgi_app = wsgi_app
        self.max_bytes = max_bytes

    def __call__(self, environ, start_response):
        if environ.get("CONTENT_LENGTH") in (None, "") and _is_chunked(environ):
            body = _read_at_most(environ["wsgi.input"], self.max_bytes + 1)
            if len(body) > self.max_bytes:
                problem = Problem(413, "payload_too_large",
                                  f"The body is larger than {self.max_bytes} bytes.")
                return self.wsgi_app(neutered(environ, problem), start_response)
            environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # werkzeug ignores Content-Length beside it
        return self.wsgi_app(environ, start_response)


def _is_chunked(environ) -> bool:
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() or bool(environ.get("wsgi.input_terminated"))


def _read_at_most(stream, limit: int) -> bytes:
    out = bytearray()
    while len(out) < limit:
        data = stream.read(min(CHUNK, limit - len(out)))
        if not data:
            break
        out.extend(data)
    return bytes(out)
