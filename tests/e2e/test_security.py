"""End to end, in production mode: a real granian server and Celery worker behind authentication.

Only senders with a URL token or a valid HMAC signature get their events stored; oversized
bodies get 413 whether or not they announce their length; no log line of any process shows a
secret, a URL token or a full e-mail address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import SEED_EVENTS
from emailhook.adapters.db import body_encoding
from support.http_calls import http_post
from support.stack import Stack, free_port, wait_until

# one worker runs them all, and starts the module's secured stack once (pytest-xdist)
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-security")]

OLD_TOKEN, NEW_TOKEN = "tok-old-5d1c9e7a3b", "tok-new-8f2b6d4a0c"
HMAC_KEY = "hmac-key-1a3c5e7g9i"
MAX_BODY = 64 * 1024
SECURE_ENV = {
    "EMAILHOOK_ENV": "production",
    "EMAILHOOK_WEBHOOK_TOKENS": f"{NEW_TOKEN},{OLD_TOKEN}",
    "EMAILHOOK_HMAC_SECRETS": HMAC_KEY,
    "EMAILHOOK_HMAC_HEADER": "X-Infobip-Signature",
    "EMAILHOOK_HMAC_ALGORITHM": "sha512",
    "EMAILHOOK_HMAC_ENCODING": "base64",
    "EMAILHOOK_MAX_BODY_BYTES": str(MAX_BODY),
}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("secured")
    database = f"sqlite:///{workdir / 'var' / 'emailhook.db'}"
    stack = Stack(workdir, database, None, extra_env=SECURE_ENV).start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def stack(secured: Stack) -> Stack:
    secured.wait_until_drained()
    secured.reset()
    return secured


def signed(body: bytes, key: str = HMAC_KEY) -> dict[str, str]:
    digest = hmac.new(key.encode(), body, hashlib.sha512).digest()
    return {"X-Infobip-Signature": base64.b64encode(digest).decode()}


def post(stack: Stack, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    return http_post(f"{stack.base_url}{path}", content=body, timeout=10, **kwargs)


def test_token_and_hmac_senders_get_their_events_stored_and_others_are_refused(
    stack: Stack, seed_bodies: dict[str, bytes]
) -> None:
    for index, body in enumerate(seed_bodies.values()):
        if index % 3 == 0:
            response = post(stack, f"/email/{NEW_TOKEN}", body)
        elif index % 3 == 1:
            response = post(stack, "/email", body, params={"token": OLD_TOKEN})
        else:
            response = post(stack, "/email", body, headers=signed(body))
        assert response.status_code == 200, response.text

    refused = [
        post(stack, "/email", b'{"notificationType": "UNSUBSCRIBED", "recipient": "x@y.com"}'),
        post(stack, "/email/tok-guessed", b"{}"),
        post(stack, "/email", b"{}", params={"token": NEW_TOKEN[:-1]}),
        post(stack, "/email", b"{}", headers=signed(b"{ }")),
        post(stack, "/email", b"{}", headers=signed(b"{}", key="not-the-key")),
    ]
    for response in refused:
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized", "message": "authentication required"}

    stack.wait_for_events(SEED_EVENTS)
    stack.wait_until_drained()
    assert stack.count_events() == SEED_EVENTS
    assert stack.scalar("SELECT count(*) FROM inbox_body") == len(seed_bodies)


def test_a_body_over_the_limit_gets_413_with_or_without_content_length(stack: Stack) -> None:
    too_big = b'{"pad": "' + b"x" * MAX_BODY + b'"}'
    announced = post(stack, f"/email/{NEW_TOKEN}", too_big)
    assert announced.status_code == 413
    assert announced.json()["error"] == "request_entity_too_large"

    chunks = [too_big[i : i + 8192] for i in range(0, len(too_big), 8192)]
    chunked = post(stack, f"/email/{NEW_TOKEN}", iter(chunks))
    assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in chunked.request.headers
    assert chunked.status_code == 413
    assert chunked.json()["error"] == "request_entity_too_large"

    fits = b'{"hello": "world"}'.ljust(MAX_BODY)
    accepted = post(stack, f"/email/{NEW_TOKEN}", iter([fits[:1000], fits[1000:]]))
    assert accepted.status_code == 200, accepted.text
    stack.wait_until_drained()
    assert stack.scalar("SELECT count(*) FROM inbox_body") == 1
    (row,) = stack.rows("SELECT body, body_encoding FROM inbox_body")
    assert body_encoding.decode(row["body"], row["body_encoding"]) == fits


def test_no_process_logs_a_secret_a_url_token_or_a_full_address(
    stack: Stack, seed_bodies: dict[str, bytes]
) -> None:
    body = seed_bodies["suppressed_bounce"]
    assert post(stack, f"/email/{NEW_TOKEN}", body).status_code == 200
    assert post(stack, "/email", body, headers=signed(body)).status_code == 200
    assert post(stack, f"/email/{OLD_TOKEN}x", body).status_code == 401
    stack.wait_until_drained()
    stack.wait_for_events(1)
    wait_until(lambda: "stored" in stack.processes["worker"].output(), 10, "worker log line")

    logs = {name: process.output() for name, process in stack.processes.items()}
    assert "webhook authentication failed" in logs["web"]
    for name, text in logs.items():
        for secret in (NEW_TOKEN, OLD_TOKEN, HMAC_KEY):
            assert secret not in text, f"{secret} in the {name} log"
        assert "paulorobetovlopes@hotmail.com" not in text, f"an address in the {name} log"


def test_the_development_server_masks_tokens_in_its_request_lines(
    tmp_path: Path, seed_bodies: dict[str, bytes]
) -> None:
    env = {"EMAILHOOK_WEBHOOK_TOKENS": NEW_TOKEN}
    stack = Stack(tmp_path, f"sqlite:///{tmp_path / 'var' / 'emailhook.db'}", None, extra_env=env)
    flask = str(Path(sys.executable).parent / "flask")
    argv = [flask, "--app", "emailhook", "run", "--port", str(stack.port)]
    try:
        server = stack.spawn("flask", ["-c", f"import os; os.execv({flask!r}, {argv!r})"])
        wait_until(stack._web_ready, 30, "flask run")
        body = seed_bodies["suppressed_bounce"]
        assert post(stack, f"/email/{NEW_TOKEN}", body).status_code == 200
        assert post(stack, "/email", body, params={"token": NEW_TOKEN}).status_code == 200
        assert post(stack, "/email/guess?token=guess2", body).status_code == 401
        wait_until(lambda: server.output().count("POST /email") >= 3, 10, "request lines")
        text = re.sub(r"\x1b\[[0-9;]*m", "", server.output())  # werkzeug colours 4xx lines
        assert '"POST /email/*** HTTP/1.1" 200' in text
        assert '"POST /email?token=*** HTTP/1.1" 200' in text
        assert '"POST /email/***?token=*** HTTP/1.1" 401' in text
        assert NEW_TOKEN not in text
        assert "guess" not in text
    finally:
        stack.stop()


@pytest.mark.parametrize("command", ["serve", "run"])
def test_production_without_authentication_will_not_start(tmp_path: Path, command: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMAILHOOK_")}
    env |= {"EMAILHOOK_ENV": "production", "EMAILHOOK_DATA_DIR": str(tmp_path)}
    argv = [sys.executable, "-m", "emailhook", command, "--port", str(free_port())]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "no webhook authentication is configured" in done.stderr
    assert "EMAILHOOK_WEBHOOK_TOKENS" in done.stderr
