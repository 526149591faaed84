"""POST /email through the Flask app on a real SQLite inbox: who gets in, and what is refused.

Every method is tried with the right, a wrong, a missing and a rotated secret; a refused body
is never kept, and no answer or log line helps an attacker guess.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from emailhook import create_app
from emailhook.adapters.db.models import InboxBody
from emailhook.service.errors import ConfigurationError
from emailhook.settings import Settings
from support.spool import move_spool

BODY = b'{"notificationType": "OPENED", "recipient": "ana.silva@example.com", "messageId": "m"}'
OLD, NEW = "old-7c1f0e9d2b4a", "new-3e5a7c9b1d0f"

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    apps: list[Flask] = []

    def make(**settings: Any) -> Flask:
        data_dir = tmp_path / f"app{len(apps)}"
        app = create_app(Settings(data_dir=data_dir, sqlite_synchronous="NORMAL", **settings))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["emailhook"].database.engine.dispose()


@pytest.fixture
def emailhook_logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Any:
    """caplog, also seeing emailhook's records (its logger does not propagate to the root)."""
    monkeypatch.setattr(logging.getLogger("emailhook"), "propagate", True)
    caplog.set_level(logging.DEBUG)
    return caplog


def kept(app: Flask) -> int:
    move_spool(app)
    with app.extensions["emailhook"].database.sessions() as session:
        return int(session.execute(select(func.count(InboxBody.id))).scalar_one())


@dataclass(frozen=True)
class Method:
    """One method: its settings for a list of secrets, and a request offering one secret."""

    name: str
    settings: Callable[[list[str]], dict[str, Any]]
    request: Callable[[str, bytes], dict[str, Any]]


def _basic(secret: str, body: bytes) -> dict[str, Any]:
    pair = base64.b64encode(f"infobip:{secret}".encode()).decode()
    return {"path": "/email", "headers": {"Authorization": f"Basic {pair}"}}


def _hmac(secret: str, body: bytes) -> dict[str, Any]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"path": "/email", "headers": {"X-Signature": f"sha256={digest}"}}


METHODS = [
    Method(
        "path token",
        lambda s: {"webhook_tokens": ",".join(s)},
        lambda secret, body: {"path": f"/email/{secret}"},
    ),
    Method(
        "query token",
        lambda s: {"webhook_tokens": ",".join(s)},
        lambda secret, body: {"path": "/email", "query_string": {"token": secret}},
    ),
    Method("basic", lambda s: {"basic_auth": ",".join(f"infobip:{x}" for x in s)}, _basic),
    Method(
        "header",
        lambda s: {"secret_header_values": ",".join(s)},
        lambda secret, body: {"path": "/email", "headers": {"X-Webhook-Secret": secret}},
    ),
    Method(
        "bearer",
        lambda s: {"bearer_tokens": ",".join(s)},
        lambda secret, body: {"path": "/email", "headers": {"Authorization": f"Bearer {secret}"}},
    ),
    Method("hmac", lambda s: {"hmac_secrets": ",".join(s)}, _hmac),
]
each_method = pytest.mark.parametrize("method", METHODS, ids=[m.name for m in METHODS])


def post(client: FlaskClient, request: dict[str, Any], body: bytes = BODY) -> Any:
    request = dict(request)
    return client.post(request.pop("path"), data=body, **request)


@each_method
def test_the_right_secret_gets_200_and_the_body_is_kept(
    method: Method, make_app: AppFactory
) -> None:
    app = make_app(**method.settings([NEW]))
    response = post(app.test_client(), method.request(NEW, BODY))
    assert response.status_code == 200, response.json
    assert response.json["accepted"] is True
    assert kept(app) == 1


@each_method
def test_a_wrong_secret_gets_401_and_nothing_is_kept(method: Method, make_app: AppFactory) -> None:
    app = make_app(**method.settings([NEW]))
    response = post(app.test_client(), method.request(OLD, BODY))
    assert response.status_code == 401
    assert response.json == {"error": "unauthorized", "message": "authentication required"}
    assert kept(app) == 0


@each_method
def test_no_credentials_get_401_and_nothing_is_kept(method: Method, make_app: AppFactory) -> None:
    app = make_app(**method.settings([NEW]))
    response = app.test_client().post("/email", data=BODY)
    assert response.status_code == 401
    assert kept(app) == 0


@each_method
def test_rotation_two_secrets_both_work_and_the_removed_one_then_fails(
    method: Method, make_app: AppFactory
) -> None:
    during = make_app(**method.settings([NEW, OLD])).test_client()
    assert post(during, method.request(OLD, BODY)).status_code == 200
    assert post(during, method.request(NEW, BODY)).status_code == 200

    after = make_app(**method.settings([NEW])).test_client()
    assert post(after, method.request(NEW, BODY)).status_code == 200
    assert post(after, method.request(OLD, BODY)).status_code == 401


@each_method
def test_a_refusal_is_logged_once_with_the_method_tried_and_the_peer_but_no_secret(
    method: Method, make_app: AppFactory, emailhook_logs: pytest.LogCaptureFixture
) -> None:
    app = make_app(**method.settings([NEW]))
    emailhook_logs.clear()
    post(app.test_client(), method.request(OLD, BODY))
    refusals = [r for r in emailhook_logs.records if r.name == "emailhook.auth"]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.WARNING
    assert "webhook authentication failed: tried=" in refusals[0].getMessage()
    assert "remote=127.0.0.1" in refusals[0].getMessage()
    assert OLD not in emailhook_logs.text
    assert NEW not in emailhook_logs.text


def test_every_refusal_answers_exactly_the_same(make_app: AppFactory) -> None:
    app = make_app(webhook_tokens=NEW, hmac_secrets=NEW, bearer_tokens=NEW)
    client = app.test_client()
    answers = {
        (r.status_code, r.get_data(), r.headers.get("WWW-Authenticate"))
        for r in [
            client.post("/email", data=BODY),
            client.post(f"/email/{OLD}", data=BODY),
            client.post("/email", data=BODY, query_string={"token": NEW[:-1]}),
            client.post("/email", data=BODY, headers={"Authorization": f"Bearer {OLD}"}),
            client.post("/email", data=BODY, headers={"X-Signature": "00" * 32}),
            client.post(f"/email/{OLD}", data=b"not json"),  # refused before it is parsed
        ]
    }
    assert len(answers) == 1
    ((status, body, challenge),) = answers
    assert status == 401
    assert OLD.encode() not in body
    assert challenge is None  # only HTTP Basic has a standard challenge


def test_www_authenticate_names_basic_only_when_basic_is_configured(make_app: AppFactory) -> None:
    with_basic = make_app(basic_auth=f"infobip:{NEW}").test_client().post("/email", data=BODY)
    assert with_basic.headers["WWW-Authenticate"] == 'Basic realm="emailhook"'
    without = make_app(webhook_tokens=NEW).test_client().post("/email", data=BODY)
    assert "WWW-Authenticate" not in without.headers


def test_several_methods_at_once_each_let_in_their_own_sender(make_app: AppFactory) -> None:
    app = make_app(webhook_tokens="tok-a1b2c3d4", hmac_secrets="key-e5f6a7b8")
    client = app.test_client()
    assert client.post("/email/tok-a1b2c3d4", data=BODY).status_code == 200
    assert post(client, _hmac("key-e5f6a7b8", BODY)).status_code == 200
    assert post(client, _hmac("tok-a1b2c3d4", BODY)).status_code == 401
    assert client.post("/email/key-e5f6a7b8", data=BODY).status_code == 401


def test_hmac_signs_the_raw_bytes_as_sent(make_app: AppFactory) -> None:
    app = make_app(hmac_secrets=NEW)
    client = app.test_client()
    assert post(client, _hmac(NEW, BODY), BODY).status_code == 200
    reformatted = BODY.replace(b": ", b":")  # the same JSON, other bytes: not what was signed
    assert post(client, _hmac(NEW, BODY), reformatted).status_code == 401


def test_an_unknown_path_below_email_does_not_echo_the_token(make_app: AppFactory) -> None:
    client = make_app(webhook_tokens=NEW).test_client()
    response = client.post(f"/email/{NEW}/extra", data=BODY)
    assert response.status_code == 404
    assert NEW.encode() not in response.get_data()
    assert client.get(f"/email/{NEW}").status_code == 405


# --- with no method configured -------------------------------------------------------------


def test_development_without_authentication_accepts_everything_and_warns_loudly(
    make_app: AppFactory, emailhook_logs: pytest.LogCaptureFixture
) -> None:
    app = make_app(env="development")
    warnings = [r.getMessage() for r in emailhook_logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "NO WEBHOOK AUTHENTICATION" in warnings[0]
    client = app.test_client()
    assert client.post("/email", data=BODY).status_code == 200
    assert client.post("/email/anything", data=BODY).status_code == 200


def test_production_without_authentication_refuses_to_create_the_app(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no webhook authentication is configured"):
        create_app(Settings(env="production", data_dir=tmp_path))
    assert not (tmp_path / "emailhook.db").exists()  # refused before touching anything


def test_production_with_a_method_serves(make_app: AppFactory) -> None:
    client = make_app(env="production", webhook_tokens=NEW).test_client()
    assert client.post(f"/email/{NEW}", data=BODY).status_code == 200
    assert client.post("/email", data=BODY).status_code == 401


# --- hostile input from an authenticated sender ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b'{"a":' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper than 32", id="deep"),
        pytest.param(b'{"a": "\xff\xfe"}', "not valid UTF-8", id="invalid UTF-8"),
        pytest.param(b'{"a": "\xed\xa0\x80"}', "not valid UTF-8", id="encoded surrogate"),
        pytest.param(b'{"a": "\\ud800"}', "low surrogate", id="lone surrogate escape"),
        pytest.param(b'{"a": "x\\udc00"}', "surrogate", id="lone low surrogate escape"),
    ],
)
def test_hostile_json_gets_a_clear_400_and_is_not_kept(
    raw: bytes, message: str, make_app: AppFactory
) -> None:
    app = make_app(webhook_tokens=NEW)
    response = app.test_client().post(f"/email/{NEW}", data=raw)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_body"
    assert message in response.json["message"]
    assert kept(app) == 0


def test_json_depth_limit_is_a_setting(make_app: AppFactory) -> None:
    client = make_app(max_json_depth=3).test_client()
    assert client.post("/email", data=b'{"a": {"b": {}}}').status_code == 200
    assert client.post("/email", data=b'{"a": {"b": {"c": []}}}').status_code == 400


def test_a_body_over_the_limit_gets_413_before_it_is_read(make_app: AppFactory) -> None:
    app = make_app(max_body_bytes=1024, webhook_tokens=NEW)
    stream = _Unreadable()
    response = app.test_client().post(
        f"/email/{NEW}", environ_overrides={"wsgi.input": stream, "CONTENT_LENGTH": "4096"}
    )
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"
    assert stream.read_calls == 0


def test_a_chunked_body_over_the_limit_gets_413(make_app: AppFactory) -> None:
    app = make_app(max_body_bytes=1024)
    body = b'{"pad": "' + b"x" * 4096 + b'"}'
    # What a WSGI server hands over for a chunked body: no length, a stream that ends.
    response = app.test_client().post(
        "/email",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"
    assert kept(app) == 0


@pytest.mark.parametrize(
    ("size", "status"), [(1023, 200), (1024, 200), (1025, 413), (100_000, 413)]
)
def test_a_chunked_body_is_read_whole_up_to_the_limit_and_refused_past_it(
    size: int, status: int, make_app: AppFactory
) -> None:
    # Werkzeug alone would cut a chunked body at the limit without a word: a valid JSON object
    # followed by padding would then be kept, though the body as sent is too large.
    app = make_app(max_body_bytes=1024)
    body = b'{"hello": "world"}'.ljust(size)
    response = app.test_client().post(
        "/email",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert response.status_code == status
    assert kept(app) == (1 if status == 200 else 0)


def test_an_error_answer_does_not_echo_the_body_or_its_addresses(make_app: AppFactory) -> None:
    client = make_app().test_client()
    response = client.post("/email", data=b'{"to": "ana.silva@example.com", oops}')
    assert response.status_code == 400
    assert b"ana.silva" not in response.get_data()


def test_logs_of_a_request_with_a_token_show_neither_token_nor_address(
    make_app: AppFactory, emailhook_logs: pytest.LogCaptureFixture
) -> None:
    app = make_app(webhook_tokens=NEW, log_level="DEBUG")  # DEBUG logs each accepted body
    client = app.test_client()
    assert client.post(f"/email/{NEW}", data=BODY).status_code == 200
    assert client.post("/email", data=BODY, query_string={"token": NEW}).status_code == 200
    assert client.post(f"/email/{OLD}", data=BODY).status_code == 401
    text = emailhook_logs.text
    assert "accepted body" in text
    assert "a***@example.com" in text
    assert "ana.silva@example.com" not in text
    assert NEW not in text
    assert OLD not in text


class _Unreadable(io.RawIOBase):
    """A request stream that records whether anyone tried to read it."""

    def __init__(self) -> None:
        self.read_calls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.read_calls += 1
        raise AssertionError("the body was read")
