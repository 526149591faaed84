"""The webhook front reads a request as Flask would: the same route, headers and query token.

A WSGI server turns headers into an environ (``wsgi_bridge.environ_headers`` does the
same for Flask behind the front) and Werkzeug reads them back; the front reads the server's
headers directly (``front.werkzeug_headers``). Both must agree for any headers, and the query
token must be Werkzeug's ``args.get("token")`` for any query.
"""

from __future__ import annotations

import string

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.sansio.request import Request

from emailhook.entrypoints.web.front import _query_token, werkzeug_headers
from emailhook.entrypoints.web.providers import providers
from emailhook.entrypoints.web.receiving import Target, target_of
from emailhook.entrypoints.web.webhook import webhook
from emailhook.entrypoints.web.wsgi_bridge import environ_headers

NAMES = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
VALUES = st.text(string.printable.strip() + " ", max_size=20)


@given(st.lists(st.tuples(st.sampled_from(["content-type", "x-a", "X_A", "host"]) | NAMES, VALUES)))
def test_headers_read_directly_are_the_headers_werkzeug_reads_from_the_environ(
    items: list[tuple[str, str]],
) -> None:
    assert werkzeug_headers(items) == dict(EnvironHeaders(environ_headers(items)).items())


@given(st.text(string.printable + "éç%&=", max_size=40))
def test_the_query_token_is_werkzeugs(query: str) -> None:
    args = Request("POST", "http", None, "", "/email", query.encode(), EnvironHeaders({}), None)
    assert _query_token(query.encode()) == args.args.get("token")


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/email", Target("infobip")),
        ("/email/tok", Target("infobip", "tok")),
        ("/email/ték", Target("infobip", "ték")),
        ("/webhooks/infobip", Target("infobip")),
        ("/webhooks/infobip/tok", Target("infobip", "tok")),
        ("/webhooks/sendgrid", Target("sendgrid")),
        ("/webhooks/any-name", Target("any-name")),
        # not webhooks: Flask answers them (404, 405, a redirect)
        ("/email/", None),
        ("/email/a/b", None),
        ("//email", None),
        ("/emails", None),
        ("/webhooks", None),
        ("/webhooks/", None),
        ("/webhooks/infobip/", None),
        ("/webhooks/infobip/a/b", None),
        ("/webhooks/sendgrid/", None),
        ("/webhooks/sendgrid/x", None),
        ("/healthz", None),
        ("/", None),
    ],
)
def test_webhook_paths_are_the_flask_routes_paths(path: str, target: Target | None) -> None:
    assert target_of(path) == target


def _flask_target(path: str) -> Target | None:
    """What Flask's routes make of a POST to ``path``."""
    app = Flask("routes")
    app.register_blueprint(webhook)
    app.register_blueprint(providers)
    try:
        endpoint, args = app.url_map.bind("localhost").match(path, method="POST")
    except (HTTPException, RequestRedirect):  # 404, 405, a redirect (merged slashes)
        return None
    if endpoint == "webhook.receive_email":
        return Target("infobip", args.get("token"))  # POST /email: Infobip's path
    return Target(args["provider"])


SEGMENTS = st.sampled_from(["email", "webhooks", "infobip", "sendgrid", "", "x", "é", "a b"])


@given(st.lists(SEGMENTS, min_size=1, max_size=4))
def test_the_front_routes_a_post_where_flask_does(segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    target = target_of(path)
    if "//" in path:  # Werkzeug reads "//email" as "/email"; the front leaves it to Flask
        assert target is None
        return
    assert target == _flask_target(path)
