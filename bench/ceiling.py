"""The ceiling: bare Flask that parses the JSON body and answers 200, nothing else.

Served by granian's WSGI interface with the processes and threads of ``emailhook serve`` (as
``serve`` ran the whole app before its webhook front) and the same JSON parser: the ratio
ingest/ceiling compares a durable answer with a Flask endpoint that keeps nothing.
"""

from __future__ import annotations

import orjson
from flask import Flask, Response, jsonify, request


def create_app() -> Flask:
    app = Flask("ceiling")

    @app.post("/email")
    def email() -> Response:
        body = orjson.loads(request.get_data())
        return jsonify(accepted=True, events=len(body.get("results", [body])))

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    return app
