"""The webhook front (``emailhook serve``) answers every webhook request as Flask does.

Two real servers with the same settings: ``emailhook serve`` (webhooks from the event loop,
the rest through Flask's threads) and granian's WSGI interface serving the Flask app alone (as
``serve`` ran it before the front). Every request of the matrix (each authentication method
right and wrong, bad bodies, limits with and without a length, providers' signatures, routes
that are not webhooks) goes to both: status, body and headers must be the same, and so must
what each kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from emailhook.adapters.db import body_encoding
from emailhook.adapters.intake.spool_promoter import SpoolPromoter
from support.http_calls import http_post, http_request
from support.provider_posts import PROVIDER_NAMES, Senders
from support.signing import local_server, sample_names
from support.stack import Stack, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-webhook-front")]  # one pair, one worker

TOKEN, BASIC, SECRET, BEARER, HMAC_KEY = (
    "tok-7f3a",
    "infobip:pw-9c",
    "hdr-2b8e",
    "brr-5d1f",
    "hk-4e",
)
MAX_BODY = 32 * 1024
ENV = {
    "EMAILHOOK_ENV": "production",
    "EMAILHOOK_WEBHOOK_TOKENS": TOKEN,
    "EMAILHOOK_BASIC_AUTH": BASIC,
    "EMAILHOOK_SECRET_HEADER_VALUES": SECRET,
    "EMAILHOOK_BEARER_TOKENS": BEARER,
    "EMAILHOOK_HMAC_SECRETS": HMAC_KEY,
    "EMAILHOOK_MAX_BODY_BYTES": str(MAX_BODY),
}
REPORT = (
    b'{"results": [{"messageId": "m-1", "to": "ana@example.com", "status": {"name": "DELIVERED"}}]}'
)
#: headers an answer must carry alike (content-length follows from the body)
COMPARED = ("content-type", "x-request-id", "www-authenticate", "retry-after", "allow")


def flask_alone(stack: Stack) -> None:
    """Serve the Flask app with granian's WSGI interface, as ``emailhook serve`` used to."""
    subprocess.run(
        [sys.executable, "-m", "emailhook", "db", "upgrade"], env=stack.env(), check=True
    )
    args = ["-m", "granian", "--interface", "wsgi", "--factory", "--port", str(stack.port)]
    stack.spawn(
        "web", [*args, "--blocking-threads", "4", "--no-access-log", "emailhook:create_app"]
    )
    wait_until(stack._web_ready, 30, "granian serving Flask")


@dataclass
class Pair:
    front: Stack
    flask: Stack
    senders: Senders
    sent: list[str] = field(default_factory=list)

    def both(
        self, method: str, path: str, chunks: list[bytes] | None = None, **kwargs: Any
    ) -> tuple[httpx.Response, httpx.Response]:
        """Send one request to each server (``chunks``: a body sent chunked); return both
        answers."""
        self.sent.append(f"{method} {path}")
        front, flask = (
            http_request(
                method,
                stack.base_url + path,
                timeout=10,
                **kwargs,
                **({"content": iter(chunks)} if chunks is not None else {}),
            )
            for stack in (self.front, self.flask)
        )
        return front, flask

    def same(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        front, flask = self.both(method, path, **kwargs)
        assert (front.status_code, front.content) == (flask.status_code, flask.content), path
        for name in COMPARED:
            assert _read(front, name) == _read(flask, name), (path, name)
        return front


def _read(answer: httpx.Response, header: str) -> object:
    value = answer.headers.get(header)
    if header == "allow" and value:  # Werkzeug keeps the methods in a set: any order
        return sorted(value.split(", "))
    return value


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with local_server() as sns:
        senders = Senders(sns.base_url)
        sns.routes.update(senders.routes())
        env = {**ENV, **senders.env()}
        stacks = []
        try:
            for name in ("front", "flask"):
                workdir = tmp_path_factory.mktemp(name)
                stacks.append(Stack(workdir, f"sqlite:///{workdir / 'var' / 'e.db'}", None, env))
            stacks[0].start_web()
            flask_alone(stacks[1])
            yield Pair(stacks[0], stacks[1], senders)
        finally:
            for stack in stacks:
                stack.stop()


def hmac_of(body: bytes) -> str:
    return hmac.new(HMAC_KEY.encode(), body, hashlib.sha256).hexdigest()


def basic(pair: str) -> str:
    return "Basic " + base64.b64encode(pair.encode()).decode()


def ids(n: int) -> dict[str, str]:
    return {"X-Request-Id": f"same-{n}"}


def test_infobip_bodies_are_answered_alike_by_every_method_right_or_wrong(pair: Pair) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        (f"/email/{TOKEN}", {}),
        (f"/email?token={TOKEN}", {}),
        (f"/email?token=nope&token={TOKEN}", {}),
        (f"/email?token={TOKEN}&token=nope", {}),
        (f"/webhooks/infobip/{TOKEN}", {}),
        ("/webhooks/infobip", {"headers": {"Authorization": basic(BASIC)}}),
        ("/email", {"headers": {"Authorization": f"Bearer {BEARER}"}}),
        ("/email", {"headers": {"X-Webhook-Secret": SECRET}}),
        ("/email", {"headers": {"X_Webhook_Secret": SECRET}}),
        ("/email", {"headers": [("X-Webhook-Secret", "no"), ("X-Webhook-Secret", SECRET)]}),
        ("/email", {"headers": {"X-Signature": hmac_of(REPORT)}}),
        ("/email", {"headers": {"X-Signature": "sha256=" + hmac_of(REPORT)}}),
        ("/email", {}),
        ("/email/t%C3%A9k", {}),
        ("/email/tok-7f3%61", {}),
        ("/email?token=%FF%FE", {}),
        ("/email/%FF", {}),
        ("/email/%C3", {}),
        ("/email", {"headers": {"Authorization": basic("infobip:wrong")}}),
        ("/email", {"headers": {"Authorization": "Basic !!!"}}),
        ("/email", {"headers": {"Authorization": f"bearer {BEARER}x"}}),
        ("/email", {"headers": {"X-Signature": hmac_of(REPORT + b" ")}}),
        ("/email/", {}),
        ("/email/a/b", {}),
        ("//email", {}),
        ("/webhooks/infobip/", {}),
    ]
    for n, (path, extra) in enumerate(cases):
        headers = extra.get("headers", {})
        merged = [*ids(n).items(), *(headers.items() if isinstance(headers, dict) else headers)]
        pair.same("POST", path, content=REPORT, headers=merged)


def test_bad_bodies_and_limits_are_refused_alike(pair: Pair) -> None:
    too_big = b'{"pad": "' + b"x" * MAX_BODY + b'"}'
    fits = b'{"hello": "world"}'.ljust(MAX_BODY)
    bodies: list[dict[str, Any]] = [
        {"content": b""},
        {"content": b"   "},
        {"content": b"[1, 2]"},
        {"content": b'"text"'},
        {"content": b"{not json"},
        {"content": b'{"a": "\xff"}'},
        {"content": b'{"a": "\\ud800"}'},
        {"content": b"[" * 200 + b"]" * 200},
        {"content": b'{"a":' * 70 + b"1" + b"}" * 70},
        {"content": too_big},
        {"chunks": [too_big[:1000], too_big[1000:]]},
        {"chunks": [fits[:1000], fits[1000:]]},
        {"chunks": [REPORT]},
        {"content": b'{"notificationType": "OPENED", "recipient": "x@y.com"}'},
        {"content": b'{"something": "else"}'},
    ]
    for n, body in enumerate(bodies):
        pair.same("POST", f"/email/{TOKEN}", headers=ids(100 + n), **body)
    unauthenticated = pair.same("POST", "/email", content=too_big, headers=ids(200))
    assert unauthenticated.status_code == 413  # the length is refused before anything else


def test_every_provider_is_answered_alike_signed_and_tampered(pair: Pair) -> None:
    for n, provider in enumerate(PROVIDER_NAMES):
        post = pair.senders.post(provider, sample_names(provider)[0])
        headers = {**post.headers, **ids(300 + n)}
        assert pair.same("POST", post.path, content=post.body, headers=headers).status_code == 200
        tampered = post.body.replace(b"@", b"@x", 1)  # refused by most; Mailgun signs no body
        pair.same("POST", post.path, content=tampered, headers=headers)
    pair.same("POST", "/webhooks/nobody", content=b"{}", headers=ids(400))
    pair.same("POST", "/webhooks/sendgrid/x", content=b"{}", headers=ids(401))
    pair.same("POST", "/webhooks/", content=b"{}", headers=ids(402))


def test_what_is_not_a_webhook_post_goes_to_flask_and_reads_the_same(pair: Pair) -> None:
    for n, (method, path) in enumerate(
        [
            ("GET", "/email"),
            ("PUT", f"/email/{TOKEN}"),
            ("GET", "/webhooks/sendgrid"),
            ("HEAD", "/webhooks/mandrill"),
            ("GET", "/webhooks/unisender_go"),
            ("GET", "/healthz"),
            ("GET", "/nowhere"),
            ("GET", "/nowhere/%FF%C3"),
            ("GET", "/openapi.json"),
            ("GET", "/email-callbacks?limit=2"),
            ("GET", "/suppressions.csv"),
            ("POST", "/healthz"),
        ]
    ):
        pair.same(method, path, headers=ids(500 + n))


def test_both_kept_the_same_bodies(pair: Pair) -> None:
    """Every body answered 200 is kept, with the same shape, provider and request id."""
    if not pair.sent:
        pytest.skip("runs after the tests above, on what they sent")
    kept = []
    for stack in (pair.front, pair.flask):
        stack.stop()  # its spool is then an orphan's: moved into the inbox here
        engine = create_engine(stack.database_url)
        SpoolPromoter(engine, stack.workdir / "var" / "spool").adopt_orphans()
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT request_id, shape, provider, event_count, body, body_encoding"
                    " FROM inbox_body ORDER BY request_id"
                )
            ).all()
        engine.dispose()
        kept.append([(*row[:4], body_encoding.decode(row.body, row.body_encoding)) for row in rows])
    assert kept[0] == kept[1]
    assert len(kept[0]) > 20


def test_concurrent_bodies_are_each_kept_once(tmp_path: Path) -> None:
    """Many requests at once share group commits: each 200 is one body in the inbox."""
    env = {"EMAILHOOK_INTAKE": "database"}
    stack = Stack(tmp_path, f"sqlite:///{tmp_path / 'var' / 'e.db'}", None, env)
    stack.start_web(workers=2)
    try:
        lock = threading.Lock()
        answered: dict[str, int] = {}

        def send(n: int) -> None:
            body = b'{"notificationType": "OPENED", "recipient": "a@b.c", "eventId": "e%d"}' % n
            answer = http_post(f"{stack.base_url}/email", content=body, headers=ids(n))
            assert answer.status_code == 200, answer.text
            with lock:
                answered[answer.json()["request_id"]] = answer.json()["id"]

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(send, range(400)))
        rows = stack.rows("SELECT request_id, id FROM inbox_body")
        assert {row["request_id"]: row["id"] for row in rows} == answered
    finally:
        stack.stop()
