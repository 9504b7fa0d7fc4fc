"""The WSGI application of the uwsgi Molecule scenario: it answers with the venv and the
user that serve it, so the scenario's suite can tell it runs where and as whom it should."""

import json
import os
import sys


def application(environ, start_response):
    body = json.dumps(
        {"prefix": sys.prefix, "uid": os.getuid(), "path": environ.get("PATH_INFO", "")}
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
