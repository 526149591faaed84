"""The ceiling: bare Flask that parses the JSON body and answers 200, nothing else.

Served by ``emailhook serve --target bench.ceiling:create_app``: the same WSGI server with the
same processes and threads as the real service, and the same JSON parser, so the ratio
ingest/ceiling measures exactly what durable acceptance costs.
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
